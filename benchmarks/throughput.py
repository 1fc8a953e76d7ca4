"""End-to-end throughput of incremental scoring against the full-pass path, measured in the same run.

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/throughput.py [--quick] [--cpu-time] [--write]

Every row times ``seqzoo.score_vcf`` (VCF -> TSV, model preloaded) in alternating rounds, best of
``--repeats`` (3) each (``seqzoo.ism``: back to back, the full passes once less): as shipped
(``incremental=True``: alt predictions from the reference's cached state, :meth:`predict_edits`) and
with ``incremental=False`` (a full forward pass of every alt window, the path before incremental
scoring). Both outputs are compared (max |delta| over every
score column) so a row is also an exactness check. Each row records the cores other processes used
meanwhile ("other load"; above 0.25 the row is contended and its ratio is not to be trusted).
``--cpu-time``: one torch thread, this process's CPU time instead of wall time (per-core rates
and ratios that hold when other processes keep the machine busy).

* Framepool by 5'UTR length: transcripts whose 5'UTR (1-3 exons) is ~100, ~170, ~250 or ~1,000 nt,
  both strands, 20 records per UTR (85% SNVs, 15% 1-3-nt insertions and deletions); and ~170 nt with
  three transcripts per gene sharing the 5'UTR (isoforms: each record gives three rows); ~170 nt with
  a tenth of the SNV records multi-allelic (two ALTs); ~170 nt with 2 records per 5'UTR (the
  reference pass, a full pass of each 5'UTR, is then most of the incremental path's work) and with
  60 (a record every ~3 nt, as dense as gnomAD: the alt windows are most of the work); ~1,000 nt
  with 118 records per 5'UTR (the ~170-nt rows' density, a record every ~8.5 nt: with 20 per
  5'UTR a ~1,000-nt reference pass is shared by only 20 alts and is most of the incremental
  path's time). The
  full pass (``incremental=False``) is the model's literal twin (every convolution as GEMMs, as before
  incremental scoring); at ~170 and ~1,000 nt a second row times it with ``predict_sequences``'
  path instead (:class:`LookupFullPass`: convolution 1 by 7-mer lookup, convolution 2 split).
* Xpresso: 40 genes, 250 SNVs in each 10.5-kb TSS window (benchmarks/xpresso.py's dataset, SNVs
  kept), half-life features from a file.
* HAL: 400 genes' donor windows, ~75 records each (benchmarks/hal.py's dataset; all records, half
  of them indels; its SNVs with a draw of its indels as 15% of the records, the Framepool rows' mix;
  and SNVs only); a random stand-in table of the published layout (the real file is not reachable here).
  Each mix also with ``tsv_process=False``: the TSV text formatted in the run's own process, not in
  the helper process (:mod:`seqzoo.tsv_process`) that a machine with 2+ usable CPUs uses by default
  (both sides of every other row use it; with ``--cpu-time`` none does, this process's CPU time
  not counting the helper's).
* Whole-genome density: a 60 Mb genome with 6,000 genes and one SNV per 120 bp (500,000 records,
  ~1% of them in a 5'UTR), Framepool: records/s over the whole run, alleles outside every window
  reported as runs (the default); windows only, also with a tenth of the records given a second ALT.
  And at the issue's density, one SNV per ~500 bp (60,000 records on 30 Mb, 3,000 genes; ~1.7% of
  the genome in a 5'UTR): Framepool and windows only, records/s after start-up (the time of the
  same run on the VCF's header lines alone, which reads the GTF and builds the windows, is
  subtracted). With a model, the reference pass of each 5'UTR a record falls in (~1,000 of them,
  most with one record) is most of the time after start-up.
* ISM: Xpresso (one 10,500-nt window, 31,500 SNVs), Framepool (a 5'UTR of ~1,000 nt: 851 nt),
  APARENT2 (205 nt) and BPNet-OSKN (1,000 nt, the random-weights fixture of the published layout),
  both full passes: the rate.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (benchmarks/common.py)

import seqzoo  # noqa: E402
from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf, write_vcf  # noqa: E402

CLOCK = time.perf_counter


def timed(fn, repeats: int):
    """(best seconds, result of the last call, CpuMonitor over all calls), timed with CLOCK."""
    return common.timed(fn, repeats, clock=CLOCK)


# -- datasets ----------------------------------------------------------------------------------------
def utr_dataset(out: Path, utr_length: int, n_tx: int, per_utr: int = 20, seed: int = 0, isoforms: int = 1,
                multiallelic: float = 0.0) -> dict:
    """Transcripts with 5'UTRs of ~``utr_length`` nt (1-3 exons, lengths within +-25%), both strands,
    ``per_utr`` records inside each UTR (85% SNVs, the rest 1-3-nt indels). ``isoforms``: transcripts
    per gene sharing its 5'UTR (CDS ends 60 nt apart), as GENCODE's isoforms often do.
    ``multiallelic``: the share of SNV records given a second ALT (``A,C``: two alleles, the
    per-allele path), drawn from a generator of their own (the records are the same as without)."""
    rng = np.random.default_rng(seed)
    rng_multi = np.random.default_rng(seed + 10_000)
    out.mkdir(parents=True, exist_ok=True)
    slot = 3 * utr_length + 2000
    length = 1000 + n_tx * slot
    seq = random_sequence(rng, length)
    lines, records = [], []
    for t in range(n_tx):
        left = 500 + t * slot
        strand = "+" if t % 2 == 0 else "-"
        total = int(utr_length * rng.uniform(0.75, 1.25))
        n_exons = 1 + t % 3
        cuts = np.sort(rng.choice(np.arange(20, total - 20), n_exons - 1, replace=False)) if n_exons > 1 else []
        sizes = np.diff(np.concatenate([[0], cuts, [total]])).astype(int)
        exons, pos = [], left
        for s in sizes:
            exons.append((pos, pos + s - 1))  # 1-based inclusive
            pos += s + 150
        cds = (exons[-1][1] + 1, exons[-1][1] + 600)
        if strand == "-":  # mirror around the transcript's span
            lo, hi = left, cds[1]
            exons = [(lo + hi - e, lo + hi - s) for s, e in exons]
            cds = (lo + hi - cds[1], lo + hi - cds[0])
        gid = f"G{t}"
        for i in range(isoforms):
            tid = f"T{t}" if isoforms == 1 else f"T{t}.{i}"
            c = (cds[0], cds[1] + 60 * i) if strand == "+" else (cds[0] - 60 * i, cds[1])
            span = (min(e[0] for e in exons + [c]), max(e[1] for e in exons + [c]))
            lines.append(gtf_line("1", "transcript", span[0], span[1], strand, tid, gid))
            for s, e in sorted(exons):
                lines.append(gtf_line("1", "five_prime_utr", s, e, strand, tid, gid))
            lines.append(gtf_line("1", "CDS", c[0], c[1], strand, tid, gid))
        positions = [p for s, e in exons for p in range(s, e - 3)]
        for p in rng.choice(positions, per_utr, replace=False):
            p = int(p)
            r = seq[p - 1]
            kind = rng.random()
            if kind < 0.85:
                alt = "ACGT"[("ACGT".index(r) + 1 + int(rng.integers(3))) % 4]
                if rng_multi.random() < multiallelic:
                    alt += "," + next(b for b in "ACGT" if b not in (r, alt))
                records.append(("1", p, None, r, alt))
            elif kind < 0.925:
                records.append(("1", p, None, r, r + random_sequence(rng, int(rng.integers(1, 4)))))
            else:
                k = int(rng.integers(1, 4))
                records.append(("1", p, None, seq[p - 1:p + k], r))
    records.sort(key=lambda x: x[1])
    return {"fasta": write_fasta(out / "genome.fa", {"1": seq}), "gtf": write_gtf(out / "annotation.gtf", lines),
            "vcf": write_vcf(out / "variants.vcf", records, {"1": length})}


def single_base(record: str) -> bool:
    """Whether a VCF record line has a one-base REF and ALT (an SNV)."""
    f = record.split("\t")
    return len(f) > 4 and len(f[3]) == 1 and len(f[4]) == 1


def snvs_only(vcf: Path, out: Path) -> Path:
    """The records of ``vcf`` with one-base REF and ALT."""
    with open(vcf) as src, open(out, "w") as dst:
        for line in src:
            if line.startswith("#") or single_base(line):
                dst.write(line)
    return out


def with_indel_share(vcf: Path, out: Path, share: float, seed: int = 3) -> Path:
    """The single-base records of ``vcf`` and as many of its other records (indels, MNVs), drawn
    from a generator of their own and kept in file order, as make them ``share`` of the records."""
    with open(vcf) as src:
        lines = src.readlines()
    records = [i for i, line in enumerate(lines) if not line.startswith("#")]
    snv = {i for i in records if single_base(lines[i])}
    other = [i for i in records if i not in snv]
    n = min(len(other), round(len(snv) * share / (1 - share)))
    keep = snv | set(np.random.default_rng(seed).choice(other, size=n, replace=False).tolist())
    with open(out, "w") as dst:
        dst.writelines(line for i, line in enumerate(lines) if line.startswith("#") or i in keep)
    return out


def header_only(vcf: Path, out: Path) -> Path:
    """The header lines of ``vcf`` (no record): a run on it is the start-up of a run on ``vcf``."""
    with open(vcf) as src, open(out, "w") as dst:
        for line in src:
            if not line.startswith("#"):
                break
            dst.write(line)
    return out


def with_second_alts(vcf: Path, out: Path, share: float, seed: int = 2) -> Path:
    """``vcf`` with a second A/C/G/T ALT (``A,C``) on ``share`` of its single-base records (multi-allelic
    records, as whole-genome VCFs hold them), drawn from a generator of its own."""
    rng = np.random.default_rng(seed)
    with open(vcf) as src, open(out, "w") as dst:
        for line in src:
            if not line.startswith("#") and rng.random() < share:
                f = line.split("\t")
                if len(f[3]) == 1 and len(f[4]) == 1:
                    f[4] += "," + next(b for b in "ACGT" if b not in (f[3], f[4]))
                    line = "\t".join(f)
            dst.write(line)
    return out


def whole_genome_dataset(out: Path, n_genes: int, n_records: int, seed: int = 1) -> dict:
    """A random genome (no repeats) with ``n_genes`` single-transcript genes (170-nt 5'UTR) every 10 kb and
    ``n_records`` SNVs spread uniformly over it, each with its own rsID."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    length = 10_000 * (n_genes + 1)
    # every base drawn (not a tiled block: that repeats each 5'UTR every 200 genes, which a run that
    # predicts each distinct sequence once would exploit)
    seq = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, length)].tobytes().decode()
    lines = []
    for g in range(n_genes):
        left = 5000 + g * 10_000
        strand = "+" if g % 2 == 0 else "-"
        tid, gid = f"T{g}", f"G{g}"
        exons = [(left, left + 199), (left + 600, left + 799), (left + 1200, left + 1599)]
        lines.append(gtf_line("1", "transcript", left, left + 1599, strand, tid, gid))
        for s, e in exons:
            lines.append(gtf_line("1", "exon", s, e, strand, tid, gid))
        utr, cds = ((left, left + 169), (left + 170, left + 1399)) if strand == "+" else \
            ((left + 1430, left + 1599), (left + 200, left + 1429))
        lines.append(gtf_line("1", "five_prime_utr", utr[0], utr[1], strand, tid, gid))
        lines.append(gtf_line("1", "CDS", cds[0], cds[1], strand, tid, gid))
    pos = np.sort(rng.choice(np.arange(10, length - 10), size=n_records, replace=False))
    vcf = out / "variants.vcf"
    with open(vcf, "w") as fh:
        fh.write(f"##fileformat=VCFv4.2\n##contig=<ID=1,length={length}>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i, p in enumerate(pos.tolist()):
            r = seq[p - 1]
            fh.write(f"1\t{p}\trs{i + 1}\t{r}\t{'ACGT'[('ACGT'.index(r) + 1) % 4]}\t.\t.\t.\n")
    return {"fasta": write_fasta(out / "genome.fa", {"1": seq}), "gtf": write_gtf(out / "annotation.gtf", lines),
            "vcf": vcf}


# -- measurements ------------------------------------------------------------------------------------
class LookupFullPass:
    """Framepool whose ``incremental=False`` full passes are ``predict_sequences``' (convolution 1
    by 7-mer lookup, convolution 2 split into a lookup and GEMMs over live channels; the shipped
    full-pass path uses the literal twin, GEMMs): the incremental path's speed-up over the fastest
    full pass."""

    def __init__(self, model):
        self.model = model

    def __getattr__(self, name):
        return getattr(self.model, name)

    def literal(self):
        return self.model


def score_pair(name, model, paths, work: Path, repeats: int, **options):
    """(incremental seconds, full seconds, alleles, rows, max |delta|, monitors)."""
    def run(incremental):
        out = work / f"{name.replace('/', '_')}.{int(incremental)}.tsv"
        r = seqzoo.score_vcf([(name, model)], paths["fasta"], paths["vcf"], paths.get("gtf"), out=out,
                             incremental=incremental, **options)
        return r.summary, out

    t_inc, (summary, out_inc), t_full, (_, out_full), mon = interleaved(lambda: run(True), lambda: run(False), repeats)
    diff = common.max_table_diff(pd.read_csv(out_inc, sep="\t"), pd.read_csv(out_full, sep="\t"))
    return t_inc, t_full, summary["alleles"], summary["rows"], diff, mon


def interleaved(fn_a, fn_b, repeats: int):
    """(best seconds of fn_a, its last result, best seconds of fn_b, its last result, CpuMonitor) over
    ``repeats`` rounds of fn_a then fn_b: both sides of a ratio see the same phases of a shared host
    (whose speed moves by tens of percent within minutes), not one side's minute each."""
    t_a, t_b = [], []
    with common.CpuMonitor() as mon:
        for _ in range(repeats):
            t0 = CLOCK()
            out_a = fn_a()
            t_a.append(CLOCK() - t0)
            t0 = CLOCK()
            out_b = fn_b()
            t_b.append(CLOCK() - t0)
    return min(t_a), out_a, min(t_b), out_b, mon


def ism_pair(name, model, fasta, gtf, repeats: int, **options):
    def run(incremental):
        table, _ = seqzoo.ism([(name, model)], fasta, gtf, incremental=incremental, **options)
        return table

    t_inc, tab_inc, m_inc = timed(lambda: run(True), repeats)
    t_full, tab_full, m_full = timed(lambda: run(False), max(1, repeats - 1))
    return t_inc, t_full, len(tab_inc), common.max_table_diff(tab_inc, tab_full), common.Worst(m_inc, m_full)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller datasets (~2 min); prints only")
    ap.add_argument("--cpu-time", action="store_true",
                    help="one torch thread, timed by this process's CPU time (for a busy machine)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--only", default="framepool,xpresso,hal,genome,ism")
    ap.add_argument("--write", action="store_true", help="record the tables in RESULTS.md (section throughput)")
    ap.add_argument("--tune-malloc", action="store_true",
                    help="seqzoo.reuse_freed_memory() first, as the command line does (see benchmarks/malloc.py)")
    args = ap.parse_args(argv)
    global CLOCK
    if args.cpu_time:  # (this process's CPU time would not count the TSV helper's: formatted here)
        CLOCK, args.threads = time.process_time, 1
        from seqzoo import tsv_process
        tsv_process.usable_cpus = lambda: 1  # automatic: no helper
    torch.set_num_threads(args.threads)
    if args.tune_malloc:
        seqzoo.reuse_freed_memory()
    repeats = args.repeats or (1 if args.quick else 3)
    only = set(args.only.split(","))
    uptime0 = os.popen("uptime").read().strip()
    machine = common.machine_info()  # (its load average is the one at the start)
    t_start = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="seqzoo-throughput-"))
    rows = []
    head = ["workload", "alleles", "incremental", "full pass", "speed-up", "max abs delta", "other load"]

    def add(label, n, t_inc, t_full, diff, mon, unit="alleles/s"):
        rows.append([label, f"{n:,}", f"{n / t_inc:,.0f} {unit}", f"{n / t_full:,.0f} {unit}",
                     f"{t_full / t_inc:.1f}x", f"{diff:.1e}", common.load_note(mon)])
        print(common.markdown_table(head, rows[-1:]).splitlines()[-1], flush=True)

    if "framepool" in only:
        fp = seqzoo.load_model("Framepool")
        for length in (100, 170, 250, 1000):
            n_tx = (40 if args.quick else 200) if length < 1000 else (15 if args.quick else 60)
            paths = utr_dataset(work / f"utr{length}", length, n_tx, seed=length)
            t_inc, t_full, n, _, diff, mon = score_pair("Framepool", fp, paths, work, repeats)
            add(f"Framepool, 5'UTR ~{length} nt, {n_tx} transcripts x 20 records", n, t_inc, t_full, diff, mon)
            if length in (170, 1000):  # the full pass as predict_sequences computes it, not as GEMMs
                t_inc, t_full, n, _, diff, mon = score_pair("Framepool", LookupFullPass(fp), paths, work, repeats)
                add("the same, full pass as `predict_sequences` (7-mer lookups, convolution 2 split)", n, t_inc, t_full,
                    diff, mon)
        n_tx = 40 if args.quick else 200  # isoforms: 3 transcripts per gene share each 5'UTR (3 rows per record)
        paths = utr_dataset(work / "utr170iso", 170, n_tx, seed=171, isoforms=3)
        t_inc, t_full, n, _, diff, mon = score_pair("Framepool", fp, paths, work, repeats)
        add(f"Framepool, 5'UTR ~170 nt, {n_tx} genes x 3 transcripts sharing it x 20 records", n, t_inc, t_full,
            diff, mon)
        # a tenth of the SNV records with two ALTs (the per-allele path, sharing each 5'UTR's reference
        # pass with the vectorised records around them)
        paths = utr_dataset(work / "utr170multi", 170, n_tx, seed=172, multiallelic=0.1)
        t_inc, t_full, n, _, diff, mon = score_pair("Framepool", fp, paths, work, repeats)
        add(f"Framepool, 5'UTR ~170 nt, {n_tx} transcripts x 20 records, 10% of SNV records multi-allelic", n,
            t_inc, t_full, diff, mon)
        n_few = 400 if args.quick else 2000  # few variants per 5'UTR: the reference pass is most of the work
        paths = utr_dataset(work / "utr170few", 170, n_few, per_utr=2, seed=173)
        t_inc, t_full, n, _, diff, mon = score_pair("Framepool", fp, paths, work, repeats)
        add(f"Framepool, 5'UTR ~170 nt, {n_few} transcripts x 2 records", n, t_inc, t_full, diff, mon)
        n_dense = 15 if args.quick else 70  # dense (gnomAD-like): the alt windows are most of the work
        paths = utr_dataset(work / "utr170dense", 170, n_dense, per_utr=60, seed=174)
        t_inc, t_full, n, _, diff, mon = score_pair("Framepool", fp, paths, work, repeats)
        add(f"Framepool, 5'UTR ~170 nt, {n_dense} transcripts x 60 records", n, t_inc, t_full, diff, mon)
        # ~1,000 nt at the density of the ~170-nt rows (a record every ~8.5 nt, not 20 per 5'UTR)
        n_long = 6 if args.quick else 20
        paths = utr_dataset(work / "utr1000dense", 1000, n_long, per_utr=118, seed=1001)
        t_inc, t_full, n, _, diff, mon = score_pair("Framepool", fp, paths, work, repeats)
        add(f"Framepool, 5'UTR ~1000 nt, {n_long} transcripts x 118 records (the ~170-nt rows' density)", n, t_inc,
            t_full, diff, mon)
    if "xpresso" in only:
        import xpresso as xp_bench
        paths = xp_bench.make_tss_dataset(work / "tss", n_genes=16 if args.quick else 40)["paths"]
        paths = dict(paths, vcf=snvs_only(Path(paths["vcf"]), work / "tss" / "snvs.vcf"))
        xp = seqzoo.load_model("Xpresso/human_median")
        t_inc, t_full, n, _, diff, mon = score_pair("Xpresso/human_median", xp, paths, work, repeats,
                                                    halflife_file=paths["halflife"])
        add("Xpresso, SNVs in 10.5-kb TSS windows (~125 per gene)", n, t_inc, t_full, diff, mon)
    if "hal" in only:
        import hal as hal_bench
        paths = hal_bench.make_donor_dataset(work / "donor", n_genes=100 if args.quick else 400)["paths"]
        hal = seqzoo.load_model("HAL", weights=hal_bench.write_stand_in_table(work / "hal.npz"))
        mixed = with_indel_share(Path(paths["vcf"]), work / "donor" / "mix15.vcf", share=0.15)
        for label, p in (("all records (1/2 SNVs, 1/2 indels)", paths),
                         ("85% SNVs, 15% indels (the Framepool rows' mix)", dict(paths, vcf=mixed)),
                         ("SNVs", dict(paths, vcf=snvs_only(Path(paths["vcf"]), work / "donor" / "snvs.vcf")))):
            t_inc, t_full, n, _, diff, mon = score_pair("HAL", hal, p, work, repeats)
            add(f"HAL (stand-in table), donor windows, {label}", n, t_inc, t_full, diff, mon)
            t_inc, t_full, n, _, diff, mon = score_pair("HAL", hal, p, work, repeats, tsv_process=False)
            add("the same, text formatted in the run's process (tsv_process=False)", n, t_inc, t_full, diff, mon)
    if "genome" in only:
        n_rec = 100_000 if args.quick else 500_000
        paths = whole_genome_dataset(work / "genome", 1_200 if args.quick else 6_000, n_rec)
        fp = seqzoo.load_model("Framepool")
        t_inc, t_full, n, scored, diff, mon = score_pair("Framepool", fp, paths, work, repeats)
        t_win, _, mon_win = timed(lambda: seqzoo.windows_vcf("Framepool", paths["fasta"], paths["vcf"], paths["gtf"],
                                                             out=work / "genome.windows.tsv"), repeats)
        rows.append(["the same, windows only (no model: reading, REF checks, outside runs, accounting)", f"{n:,}",
                     f"{n / t_win:,.0f} records/s", "-", "-", "-", common.load_note(mon_win)])
        multi = with_second_alts(Path(paths["vcf"]), work / "genome" / "multi.vcf", share=0.1)
        t_multi, res, mon_multi = timed(lambda: seqzoo.windows_vcf("Framepool", paths["fasta"], multi, paths["gtf"],
                                                                   out=work / "genome.multi.tsv"), repeats)
        rows.append([f"the same, a tenth of the records with a second ALT ({res.summary['alleles']:,} alleles)",
                     f"{n:,}", f"{n / t_multi:,.0f} records/s", "-", "-", "-", common.load_note(mon_multi)])
        rows.append([f"Framepool, whole-genome density ({n_rec:,} SNVs on {n_rec * 120 // 1_000_000} Mb, "
                     f"{scored:,} rows)", f"{n:,}", f"{n / t_inc:,.0f} records/s", f"{n / t_full:,.0f} records/s",
                     f"{t_full / t_inc:.1f}x", f"{diff:.1e}", common.load_note(mon)])
        print(rows[-1], flush=True)
        # the issue's workload: one record per ~500 bp (60,000 on 30 Mb, ~1.7% of the genome in a
        # 5'UTR), rates after start-up: the same run on the VCF's header alone is subtracted
        n_genes, n_rec = (600, 12_000) if args.quick else (3_000, 60_000)
        paths = whole_genome_dataset(work / "genome500", n_genes, n_rec, seed=5)
        header = header_only(Path(paths["vcf"]), work / "genome500" / "header.vcf")
        t_inc, t_full, n, scored, diff, mon = score_pair("Framepool", fp, paths, work, repeats)
        t_up, _, _ = timed(lambda: seqzoo.score_vcf([("Framepool", fp)], paths["fasta"], header, paths["gtf"],
                                                     out=work / "genome500.startup.tsv"), repeats)
        rows.append([f"Framepool, one record per 500 bp ({n_rec:,} SNVs on {n_rec * 500 // 1_000_000} Mb, {scored:,} "
                     f"rows), after start-up ({t_up:.2f} s)", f"{n:,}", f"{n / (t_inc - t_up):,.0f} records/s",
                     f"{n / (t_full - t_up):,.0f} records/s", f"{(t_full - t_up) / (t_inc - t_up):.1f}x",
                     f"{diff:.1e}", common.load_note(mon)])
        t_win, _, mon_win = timed(lambda: seqzoo.windows_vcf("Framepool", paths["fasta"], paths["vcf"], paths["gtf"],
                                                             out=work / "genome500.windows.tsv"), repeats)
        t_up, _, _ = timed(lambda: seqzoo.windows_vcf("Framepool", paths["fasta"], header, paths["gtf"],
                                                      out=work / "genome500.startup.tsv"), repeats)
        rows.append([f"the same, windows only, after start-up ({t_up:.2f} s)", f"{n:,}",
                     f"{n / (t_win - t_up):,.0f} records/s", "-", "-", "-", common.load_note(mon_win)])
        print(rows[-2], rows[-1], flush=True)
    if "ism" in only:
        ex = Path(__file__).resolve().parents[1] / "examples"
        xp = seqzoo.load_model("Xpresso/human_median")
        t_inc, t_full, n, diff, mon = ism_pair("Xpresso/human_median", xp, ex / "genome.fa", ex / "annotation.gtf",
                                               repeats, feature="GENE0", halflife_file=ex / "halflife.tsv")
        add("ISM Xpresso, one 10,500-nt window (seconds: incremental %.2f, full %.2f)" % (t_inc, t_full),
            n, t_inc, t_full, diff, mon, unit="SNVs/s")
        paths = utr_dataset(work / "ism1000", 1000, 1, per_utr=1, seed=7)
        fp = seqzoo.load_model("Framepool")
        t_inc, t_full, n, diff, mon = ism_pair("Framepool", fp, paths["fasta"], paths["gtf"], repeats, feature="T0")
        add("ISM Framepool, one %d-nt 5'UTR (seconds: incremental %.2f, full %.2f)" % (n // 3, t_inc, t_full),
            n, t_inc, t_full, diff, mon, unit="SNVs/s")
        ap2 = seqzoo.load_model("APARENT2")
        t, table, mon = timed(lambda: seqzoo.ism([("APARENT2", ap2)], ex / "genome.fa", ex / "annotation.gtf",
                                                 feature=_first_feature(ap2, ex))[0], repeats)
        rows.append([f"ISM APARENT2, one 205-nt window, full passes ({t:.2f} s)", f"{len(table):,}",
                     f"{len(table) / t:,.0f} SNVs/s", "(same path)", "-", "-", common.load_note(mon)])
        # the published bpnet.model.h5 is not reachable here: the random-weights fixture of its layout
        # (tests/fixtures/bpnet; the rate does not depend on the weight values)
        bp = seqzoo.load_model("BPNet-OSKN", weights=Path(__file__).resolve().parents[1] / "tests/fixtures/bpnet/bpnet.fixture.h5")
        t, table, mon = timed(lambda: seqzoo.ism([("BPNet-OSKN", bp)], ex / "genome.fa", region="1:20001-21000")[0],
                              repeats)
        rows.append([f"ISM BPNet-OSKN, one 1,000-nt window, full passes, stand-in weights ({t:.2f} s)",
                     f"{len(table):,}", f"{len(table) / t:,.0f} SNVs/s", "(same path)", "-", "-", common.load_note(mon)])
    uptime1 = os.popen("uptime").read().strip()
    clock = "CPU time of this process, 1 torch thread" if args.cpu_time else f"wall time, {args.threads} torch threads"
    body = common.table_section(
        "End-to-end throughput, incremental vs full pass",
        f"Command: `python benchmarks/throughput.py{' --cpu-time' if args.cpu_time else ''}"
        f"{' --tune-malloc' if args.tune_malloc else ''}` "
        f"({time.perf_counter() - t_start:.0f} s; times: {clock}; best of {repeats}). "
        f"Load before: `{uptime0}`; after: `{uptime1}`.", head, rows, machine)
    print("\n" + body)
    if args.write and not args.quick:
        common.update_results("throughput" + ("-cpu" if args.cpu_time else ""), body)
    return 0


def _first_feature(model, ex: Path) -> str:
    from seqzoo.windowing import VariantWindows
    from seqzoo import registry
    rule = VariantWindows(registry.get("APARENT2"), ex / "genome.fa", ex / "annotation.gtf").rule
    return rule.features[0].feature_id


if __name__ == "__main__":
    sys.exit(main())
