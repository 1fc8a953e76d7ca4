"""Peak memory of `seqzoo score` on a GENCODE-size annotation and an rsID-dense VCF, every model, this
code against the code before the refactor (``e21de97``), at 200,000 and 1,000,000 records.

Data (generated once into ``benchmarks/.data/``, git-ignored; :func:`make_data`): a 300 Mb random genome
in six contigs, a GTF of 60,000 genes in the Ensembl/GENCODE layout (``gene``, ``transcript``,
``exon``, ``CDS``, ``five_prime_utr``, ``three_prime_utr``, ``start_codon``, ``stop_codon`` lines with
GENCODE-style attributes; a third of the genes protein-coding with ~5 transcripts, the rest with ~2;
multi-exon, both strands, placed at random over the genome: ~220,000 transcripts, ~1.2 GB) and a
sorted VCF of 1,000,000 records at random positions over the whole genome (90 % SNVs, 5 % insertions,
5 % deletions), each with its own rsID; the 200,000-record VCF is every fifth of its records.

Each measurement is one process (``python -m seqzoo score ... -o OUT.tsv --quiet``, chunks as
shipped); its peak resident set size comes from ``os.wait4`` when it exits. "this code" runs the
checkout this script lives in; "before" the commit ``--before`` (default e21de97) checked out as a
git worktree (``--before-path``, created when missing) and run with ``PYTHONPATH`` pointing at it.
A run still going after ``--time-limit`` seconds is stopped (SIGTERM: seqzoo saves its progress
note) and reported with the records it had finished and its peak so far. HAL and BPNet-OSKN run
with stand-in weights of the published layouts (a random HAL table; the Keras-built random-weights
BPNet fixture in tests/fixtures/bpnet): memory does not depend on the values. BPNet-OSKN scores every
variant (~150 variants/s on 2 cores), so its 200,000 / 1,000,000 rows are ``seqzoo windows`` (the
same VCF, FASTA and window streaming without the forward pass) and its ``score`` rows use the
first 1,000 and 5,000 records.

Usage: nice -n 10 python benchmarks/memory.py [--models all|A,B] [--codes new,before] [--time-limit 600]
       [--quick] [--no-write]   (~1-2 h on 2 cores; --quick: a 3 Mb genome, prints only)
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

#: (contig lengths, genes, records of the large VCF); the small VCF is every fifth record
FULL = dict(contigs=[75, 65, 55, 45, 35, 25], contig_unit=1_000_000, genes=60_000, records=1_000_000)
QUICK = dict(contigs=[1.0, 0.8, 0.6, 0.4, 0.2], contig_unit=1_000_000, genes=600, records=20_000)
MODELS = ["Framepool", "APARENT2", "HAL", "BPNet-OSKN", "Xpresso/human_median"]  # the slowest last
BPNET_SCORE_RECORDS = (1_000, 5_000)
GIB = 1024.0
LUT = np.frombuffer(b"ACGT", dtype=np.uint8)
DATA_VERSION = 2  # of make_data's output: a change regenerates the cached data


# -- data --------------------------------------------------------------------------------------------------
def write_genome(path: Path, lengths: dict[str, int], rng) -> dict[str, np.ndarray]:
    """Random contigs (60 bases a line); returns their base codes 0..3."""
    codes = {}
    with open(path, "wb") as fh:
        for name, n in lengths.items():
            c = codes[name] = rng.integers(0, 4, n, dtype=np.uint8)
            fh.write(f">{name}\n".encode())
            full = n // 60
            lines = np.empty((full, 61), dtype=np.uint8)
            lines[:, :60] = LUT[c[:full * 60]].reshape(full, 60)
            lines[:, 60] = ord("\n")
            fh.write(lines.tobytes())
            if n % 60:
                fh.write(LUT[c[full * 60:]].tobytes() + b"\n")
    return codes


def exon_layout(rng, start: int, end: int, k: int) -> list[tuple[int, int]]:
    """``k`` (at most) sorted exons tiling [start, end) with introns between them, 0-based half-open."""
    span = end - start
    k = max(1, min(k, span // 200))
    if k == 1:
        return [(start, end)]
    ex = 50 + rng.exponential(120, k)
    ex[0] += rng.exponential(150)
    ex[-1] += rng.exponential(400)
    ex *= min(1.0, 0.6 * span / ex.sum())
    ex = np.maximum(ex.astype(int), 20)
    w = rng.exponential(1.0, k - 1)
    intr = np.maximum((w / w.sum() * (span - ex.sum())).astype(int), 30)
    exons, p = [], start
    for i in range(k - 1):
        exons.append((p, p + int(ex[i])))
        p += int(ex[i]) + int(intr[i])
    if end - p < 20:  # rounding left no room for the last exon: one exon less
        return exon_layout(rng, start, end, k - 1)
    exons.append((p, end))
    return exons


def split_by_cds(exons: list, strand: str, utr5: int, utr3: int) -> dict[str, list]:
    """Genomic pieces of 5'UTR, CDS and 3'UTR of a transcript whose first ``utr5`` and last ``utr3``
    transcript bases are untranslated (``exons`` sorted by position)."""
    tx_order = exons if strand == "+" else exons[::-1]
    total = sum(e - s for s, e in exons)
    bounds = {"five_prime_utr": (0, utr5), "CDS": (utr5, total - utr3), "three_prime_utr": (total - utr3, total)}
    out = {k: [] for k in bounds}
    a = 0
    for s, e in tx_order:
        b = a + e - s
        for kind, (lo, hi) in bounds.items():
            x0, x1 = max(a, lo), min(b, hi)
            if x0 < x1:
                out[kind].append((s + x0 - a, s + x1 - a) if strand == "+" else (e - (x1 - a), e - (x0 - a)))
        a = b
    return out


def gene_lines(rng, g: int, chrom: str, strand: str, start: int, end: int, coding: bool) -> list[str]:
    """GTF lines (GENCODE attribute style) of gene ``g`` spanning [start, end): its transcripts'
    exons, and for coding transcripts CDS, UTRs and start/stop codons."""
    gid, name = f"ENSG{g:011d}.{1 + g % 9}", f"SYN{g}"
    gtype = "protein_coding" if coding else ("lncRNA" if g % 3 else "processed_pseudogene")
    gattr = f'gene_id "{gid}"; gene_type "{gtype}"; gene_name "{name}"; level 2; hgnc_id "HGNC:{g}";'
    out = []

    def line(kind, s, e, attrs):
        out.append(f"{chrom}\tHAVANA\t{kind}\t{s + 1}\t{e}\t.\t{strand}\t.\t{attrs}")

    line("gene", start, end, gattr + f' havana_gene "OTTHUMG{g:011d}.2";')
    n_tx = min(int(rng.geometric(0.13 if coding else 0.4)), 15)
    span = end - start
    for t in range(n_tx):
        ts, te = (start, end) if t == 0 else (start + int(rng.uniform(0, 0.3) * span),
                                              end - int(rng.uniform(0, 0.3) * span))
        k = 2 + int(rng.poisson(6)) if coding else 1 + int(rng.poisson(2))
        exons = exon_layout(rng, ts, te, k)
        total = sum(e - s for s, e in exons)
        utr5, utr3 = int(min(rng.uniform(40, 400), total / 4)), int(min(rng.uniform(100, 1500), total / 3))
        tx_coding = coding and total - utr5 - utr3 >= 60
        tid = f"ENST{g:08d}{t:03d}.1"
        tattr = (f'gene_id "{gid}"; transcript_id "{tid}"; gene_type "{gtype}"; gene_name "{name}"; '
                 f'transcript_type "{gtype if tx_coding or not coding else "retained_intron"}"; '
                 f'transcript_name "{name}-{201 + t}"; ')
        tags = ' tag "Ensembl_canonical";' if t == 0 else ""
        tags += f' tag "CCDS"; ccdsid "CCDS{g}.1";' if tx_coding else ""
        tail = (f' level 2; transcript_support_level "{1 + t % 5}"; tag "basic";{tags} '
                f'havana_transcript "OTTHUMT{g:08d}{t:03d}.1";')
        line("transcript", exons[0][0], exons[-1][1], tattr.rstrip() + tail)
        pieces = split_by_cds(exons, strand, utr5, utr3) if tx_coding else None
        tx_order = exons if strand == "+" else exons[::-1]
        for i, (s, e) in enumerate(tx_order, start=1):
            line("exon", s, e, tattr + f'exon_number {i}; exon_id "ENSE{g:08d}{t:03d}{i:03d}.1";' + tail)
            if pieces:
                for cs, ce in pieces["CDS"]:
                    if s <= cs and ce <= e:
                        line("CDS", cs, ce, tattr + f'exon_number {i}; exon_id "ENSE{g:08d}{t:03d}{i:03d}.1"; '
                                                   f'protein_id "ENSP{g:08d}{t:03d}.1";' + tail)
        if pieces:
            cds = pieces["CDS"]
            first, last = (cds[0], cds[-1]) if strand == "+" else (cds[-1], cds[0])
            if first[1] - first[0] >= 3:
                line("start_codon", *((first[0], first[0] + 3) if strand == "+" else (first[1] - 3, first[1])),
                     tattr + "exon_number 1;" + tail)
            if last[1] - last[0] >= 3:
                line("stop_codon", *((last[1] - 3, last[1]) if strand == "+" else (last[0], last[0] + 3)),
                     tattr + f"exon_number {len(exons)};" + tail)
            for kind in ("five_prime_utr", "three_prime_utr"):
                for s, e in pieces[kind]:
                    line(kind, s, e, tattr.rstrip() + tail)
    return out


def write_gtf(path: Path, lengths: dict[str, int], n_genes: int, rng) -> dict:
    """``n_genes`` genes at random positions over the contigs (per contig in proportion to its
    length, sorted), spans log-normal (median 2.5 kb, 300 nt - 60 kb), random strands."""
    total = sum(lengths.values())
    counts = {"genes": 0, "transcripts": 0, "lines": 0}
    g = 0
    with open(path, "w") as fh:
        fh.write("##description: synthetic GENCODE-size annotation (seqzoo benchmarks/memory.py)\n"
                 "##provider: seqzoo\n##format: gtf\n")
        for chrom, n in lengths.items():
            k = round(n_genes * n / total)
            spans = np.clip(rng.lognormal(np.log(2500), 0.9, k), 300, 60_000).astype(int)
            margin = 20_000
            starts = np.sort(rng.integers(margin, n - margin - 60_000, k))
            for start, span in zip(starts, spans):
                lines = gene_lines(rng, g, chrom, "+" if rng.random() < 0.5 else "-", int(start),
                                   int(start + span), coding=g % 3 == 0)
                fh.write("\n".join(lines) + "\n")
                counts["genes"] += 1
                counts["transcripts"] += sum(1 for ln in lines if "\ttranscript\t" in ln)
                counts["lines"] += len(lines)
                g += 1
    return counts


def write_vcf(path: Path, codes: dict[str, np.ndarray], n_records: int, rng) -> Path:
    """``n_records`` sorted records at random distinct positions over every contig (in proportion to
    length): 90 % SNVs, 5 % insertions of 1-4 nt, 5 % deletions of 1-4 nt; each its own rsID."""
    total = sum(len(c) for c in codes.values())
    ids = np.cumsum(rng.integers(1, 300, n_records))
    rng.shuffle(ids)
    header = ["##fileformat=VCFv4.2"] + [f"##contig=<ID={c},length={len(s)}>" for c, s in codes.items()]
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    done = 0
    with open(path, "w") as fh:
        fh.write("\n".join(header) + "\n")
        names = list(codes)
        for i, (chrom, c) in enumerate(codes.items()):
            k = n_records - done if i == len(names) - 1 else round(n_records * len(c) / total)
            pos = np.sort(rng.choice(len(c) - 10, size=k, replace=False)) + 1  # 1-based
            kind = rng.random(k)
            sub = (c[pos - 1] + rng.integers(1, 4, k)) % 4
            out = []
            for j, p in enumerate(pos.tolist()):
                rs = ids[done + j]
                if kind[j] < 0.9:
                    ref, alt = chr(LUT[c[p - 1]]), chr(LUT[sub[j]])
                elif kind[j] < 0.95:
                    ref = chr(LUT[c[p - 1]])
                    alt = ref + LUT[rng.integers(0, 4, 1 + j % 4)].tobytes().decode()
                else:
                    ref = LUT[c[p - 1:p + 1 + j % 4]].tobytes().decode()
                    alt = ref[0]
                out.append(f"{chrom}\t{p}\trs{rs}\t{ref}\t{alt}\t.\tPASS\t.\n")
            fh.write("".join(out))
            done += k
    return path


def every_nth(src: Path, dst: Path, n: int) -> Path:
    """The header and every ``n``-th record of ``src``."""
    with open(src) as fin, open(dst, "w") as fout:
        i = 0
        for line in fin:
            if line.startswith("#"):
                fout.write(line)
                continue
            if i % n == 0:
                fout.write(line)
            i += 1
    return dst


def make_data(folder: Path, cfg: dict, seed: int = 0) -> dict:
    """The FASTA (+ .fai), GTF and VCFs of ``cfg`` in ``folder``, generated unless ``folder/data.json``
    says they are there. Returns the paths and the data's description."""
    marker = folder / "data.json"
    if marker.exists():
        meta = json.loads(marker.read_text())
        if meta["cfg"] == cfg and meta.get("version") == DATA_VERSION:
            return meta
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    lengths = {f"chr{i + 1}": int(x * cfg["contig_unit"]) for i, x in enumerate(cfg["contigs"])}
    fasta, gtf = folder / "genome.fa", folder / "annotation.gtf"
    print(f"generating {sum(lengths.values()) / 1e6:.0f} Mb genome, {cfg['genes']:,}-gene GTF, "
          f"{cfg['records']:,}-record VCF in {folder}", file=sys.stderr, flush=True)
    codes = write_genome(fasta, lengths, rng)
    import pysam
    pysam.faidx(str(fasta))
    counts = write_gtf(gtf, lengths, cfg["genes"], rng)
    large = write_vcf(folder / f"variants.{cfg['records']}.vcf", codes, cfg["records"], rng)
    small = every_nth(large, folder / f"variants.{cfg['records'] // 5}.vcf", 5)
    for n in BPNET_SCORE_RECORDS:
        common.vcf_subset(large, folder / f"variants.first{n}.vcf", n)
    hal = folder / "HAL_mer_scores.stand-in.npz"
    np.savez(hal, weights=np.random.default_rng(seed).normal(size=(4096, 8)))
    meta = {"cfg": cfg, "version": DATA_VERSION, "fasta": str(fasta), "gtf": str(gtf),
            "vcf": {str(cfg["records"]): str(large), str(cfg["records"] // 5): str(small)}, "hal_weights": str(hal),
            "genome_mb": sum(lengths.values()) / 1e6, "contigs": len(lengths),
            "gtf_mb": gtf.stat().st_size / 1e6, **counts, "seconds": time.perf_counter() - t0}
    marker.write_text(json.dumps(meta, indent=1))
    return meta


# -- one measurement ---------------------------------------------------------------------------------------
def ensure_before(path: Path, commit: str) -> Path:
    """The code at ``commit`` as a git worktree at ``path`` (created if missing)."""
    if not (path / "seqzoo" / "__init__.py").exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit], check=True)
    return path


def commit_of(code: Path) -> tuple[str, str]:
    """(the commit checked out at ``code``, the id of its seqzoo/ tree: what a measurement depends on,
    "+changes" when the files differ from it)."""
    git = ["git", "-C", str(code)]
    out = lambda *a: subprocess.run(git + list(a), capture_output=True, text=True).stdout.strip()  # noqa: E731
    dirty = "+changes" if out("status", "--porcelain", "--", "seqzoo") else ""
    return out("rev-parse", "--short", "HEAD") + dirty, out("rev-parse", "--short", "HEAD:seqzoo") + dirty


def measure(code: Path, command: str, model: str, data: dict, vcf: str, work: Path, limit: float,
            threads: int = 1) -> dict:
    """One ``seqzoo`` process with the package at ``code`` and ``threads`` torch threads: wall seconds,
    peak RSS (MiB, wait4), exit code, whether it was stopped at ``limit``, records done and the load
    average around it."""
    out = work / "out.tsv"
    clear(work)
    argv = [sys.executable, "-m", "seqzoo", command, "--model", model, "--fasta", data["fasta"], "--vcf", vcf,
            "-o", str(out), "--quiet"]
    if model != "BPNet-OSKN":
        argv += ["--gtf", data["gtf"]]
    weights = {"HAL": data["hal_weights"], "BPNet-OSKN": str(ROOT / "tests/fixtures/bpnet/bpnet.fixture.h5")}
    if command == "score" and model in weights:
        argv += ["--weights", weights[model]]
    env = dict(os.environ, PYTHONPATH=str(code), OMP_NUM_THREADS=str(threads))
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    with open(work / "stderr.txt", "w") as err:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err, cwd=work)
        try:
            status, usage, stopped, samples = wait(proc, Path(f"{out}.progress.json"), limit, t0)
        finally:
            if proc.poll() is None:  # this script itself was stopped: so is the run
                proc.kill()
    rc = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    summary_path, progress_path = Path(f"{out}.summary.json"), Path(f"{out}.progress.json")
    summary = json.loads(summary_path.read_text()) if summary_path.exists() and not stopped else None
    done = summary["records"] if summary else (json.loads(progress_path.read_text())["last_record"]
                                               if progress_path.exists() else None)
    error = None
    if rc != 0 and not stopped:
        error = (work / "stderr.txt").read_text().strip().splitlines()[-1:] or ["(no message)"]
    clear(work)  # outputs can be GBs (BPNet windows)
    return {"wall": wall, "peak_mib": usage.ru_maxrss / 1024, "rc": rc, "stopped": stopped,
            "records_done": done, "alleles": summary and summary["alleles"], "rows": summary and summary["rows"],
            "load": [round(x, 2) for x in (*load0, *os.getloadavg())], "error": error and error[0],
            "samples": samples}


def wait(proc, note: Path, limit: float, t0: float):
    """Wait for ``proc``, sampling its peak RSS against the records its progress ``note`` says are
    done; SIGTERM after ``limit`` seconds (seqzoo saves its note and exits), SIGKILL 2 min later.
    Returns (wait status, rusage, whether it was stopped, samples [seconds, peak MiB, records])."""
    stopped, samples = False, []
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, usage, stopped, samples
        elapsed = time.perf_counter() - t0
        sample = progress_sample(proc.pid, note)
        if sample and (not samples or sample[1] != samples[-1][2]):
            samples.append([round(elapsed), *sample])
        if not stopped and elapsed > limit:
            proc.send_signal(signal.SIGTERM)
            stopped = True
        elif stopped and elapsed > limit + 120:
            proc.kill()
        time.sleep(0.5)


def clear(folder: Path) -> None:
    for f in folder.iterdir():
        if f.is_file():
            f.unlink()


def progress_sample(pid: int, note: Path) -> tuple[float, int] | None:
    """(peak RSS so far in MiB, records done) of a running seqzoo process: VmHWM from /proc and
    ``last_record`` from its progress note (None before the first chunk)."""
    try:
        hwm = next(int(ln.split()[1]) for ln in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if ln.startswith("VmHWM:"))
        return round(hwm / 1024), json.loads(note.read_text())["last_record"]
    except (OSError, ValueError, KeyError, StopIteration):
        return None


def peak_at(r: dict, records: int) -> float | None:
    """Peak RSS (MiB) of a run when it had finished ``records`` records (from its samples)."""
    hits = [hwm for _, hwm, done in r.get("samples", []) if done >= records]
    return hits[0] if hits else None


# -- report ------------------------------------------------------------------------------------------------
def cell(r: dict | None, records: int) -> str:
    if r is None:
        return "not run"
    peak = f"{r['peak_mib']:,.0f} MiB"
    if r["error"]:
        return f"failed ({r['error'][:60]})"
    if r["stopped"]:
        done = f"{r['records_done']:,}" if r["records_done"] is not None else "?"
        return f">= {peak} (stopped at {r['wall']:.0f} s, {done} of {records:,} records done)"
    flag = "" if r["peak_mib"] < 2 * GIB else " **over 2 GiB**"
    return f"{peak}{flag} ({r['wall']:.0f} s)"


def flatness(small: dict | None, large: dict | None) -> str:
    if not small or not large or small["error"] or large["error"] or small["stopped"]:
        return "n/a"
    text = f"{large['peak_mib'] / small['peak_mib']:.2f}"
    return text + (" (large run stopped early)" if large["stopped"] else "")


def report(results: dict, data: dict, cfg: dict, args, commits: dict, total_s: float, uptime: tuple[str, str]) -> str:
    big, small = cfg["records"], cfg["records"] // 5
    rows = []
    for model in args.models:
        plans = [("windows" if model == "BPNet-OSKN" else "score", small, big)]
        if model == "BPNet-OSKN":
            plans.append(("score", *BPNET_SCORE_RECORDS))
        for command, lo, hi in plans:
            get = lambda code, n: results.get(f"{code}|{model}|{command}|{n}")  # noqa: E731
            rows.append([model, f"`{command}`", f"{lo:,} / {hi:,}", cell(get("new", lo), lo), cell(get("new", hi), hi),
                         flatness(get("new", lo), get("new", hi)), cell(get("before", lo), lo),
                         cell(get("before", hi), hi), flatness(get("before", lo), get("before", hi))])
    table = common.markdown_table(["model", "command", "records (small / large)", "this code, small",
                                   "this code, large", "large / small", "before, small", "before, large",
                                   "large / small (before)"], rows)
    detail = []
    for key, r in results.items():
        code, model, command, n = key.split("|")
        load = r["load"]
        fifth = peak_at(r, int(n) // 5)
        detail.append([code, model, command, f"{int(n):,}", f"{r['peak_mib']:,.0f}",
                       "n/a" if fifth is None else f"{fifth:,.0f}", f"{r['wall']:.0f}",
                       "stopped" if r["stopped"] else (f"exit {r['rc']}" if r["rc"] else "ok"),
                       "n/a" if r["alleles"] is None else f"{r['alleles']:,} / {r['rows']:,}",
                       f"{load[0]:.1f} -> {load[3]:.1f}"])
    detail_table = common.markdown_table(["code", "model", "command", "records", "peak RSS (MiB)",
                                          "peak when 1/5 of the records were done", "wall (s)",
                                          "status", "alleles / rows", "load avg (1 min) start -> end"], detail)
    cmd = " ".join(["nice -n 10 python benchmarks/memory.py", *args.argv])
    return (f"## Peak memory, GENCODE-size annotation ({common.timestamp()})\n\n"
            f"Command: `{cmd}` (this invocation {total_s / 60:.0f} min; per-measurement limit {args.time_limit:.0f} s; "
            f"measured processes with OMP_NUM_THREADS={args.threads}). "
            f"Data: {data['genome_mb']:.0f} Mb random genome in {data['contigs']} contigs; GTF of "
            f"{data['genes']:,} genes, {data['transcripts']:,} transcripts, {data['lines']:,} lines "
            f"({data['gtf_mb']:,.0f} MB; gene, transcript, exon, CDS, 5'/3'UTR, start/stop codon lines, GENCODE-style "
            f"attributes, both strands, genes at random positions); VCF of {big:,} sorted records over the whole "
            f"genome (90 % SNVs, 5 % insertions, 5 % deletions), every record its own rsID; the {small:,}-record "
            f"VCF is every fifth record. One process per measurement (`python -m seqzoo <command> ... -o out.tsv "
            f"--quiet`, default chunks), peak RSS from `wait4`. \"this code\": this checkout "
            f"(`{commits.get('new', '?')}`); \"before\": `{commits.get('before', args.before)}` (the code before the "
            f"refactor) from a git worktree, same command. large / small = peak at {big:,} / peak at {small:,} "
            f"records (flat: ~1). BPNet-OSKN scores every variant (~150 variants/s), so its "
            f"{small:,} / {big:,} rows are `seqzoo windows` (the same streaming without the forward pass) and its "
            f"`score` rows use the first {BPNET_SCORE_RECORDS[0]:,} and {BPNET_SCORE_RECORDS[1]:,} records. "
            f"HAL and BPNet-OSKN use stand-in weights of the published layouts. Peak RSS does not depend on the "
            f"machine's load (wall times do: other engineers' jobs shared the 2 cores, see the load column).\n\n"
            f"`uptime` at start: `{uptime[0]}`; at end: `{uptime[1]}`.\n\n"
            f"Machine:\n\n{common.machine_markdown(common.machine_info())}\n\n{table}\n\n"
            f"Every measurement:\n\n{detail_table}\n")


# -- main --------------------------------------------------------------------------------------------------
def plan(models: list[str], codes: list[str], cfg: dict) -> list[tuple]:
    """(code, model, command, records) in the order measured: every model on the small VCF, then
    BPNet-OSKN's ``score`` runs, then the large VCF; Xpresso (hours per run at 2 rows per record)
    last; this code, then the code before."""
    out = []
    big, small = cfg["records"], cfg["records"] // 5
    for model in models:
        sizes = [("windows" if model == "BPNet-OSKN" else "score", n) for n in (small, big)]
        if model == "BPNet-OSKN":
            sizes.insert(1, ("score", BPNET_SCORE_RECORDS[0]))
            sizes.insert(2, ("score", BPNET_SCORE_RECORDS[1]))
        out += [(code, model, command, n) for command, n in sizes for code in codes]
    return sorted(out, key=lambda p: (p[1].startswith("Xpresso"), p[3] == big))  # stable: order kept within


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="all", help=f"comma-separated subset of {', '.join(MODELS)}")
    ap.add_argument("--codes", default="new,before", help="new (this checkout), before, or both")
    ap.add_argument("--before", default="e21de97", help="commit measured as the code before (default e21de97)")
    ap.add_argument("--before-path", default="/tmp/seqzoo-before", help="its git worktree (created if missing)")
    ap.add_argument("--time-limit", type=float, default=600, help="seconds before a measurement is stopped")
    ap.add_argument("--threads", type=int, default=1,
                    help="OMP_NUM_THREADS of the measured processes (default 1: on a shared 2-core machine two "
                         "threads wait on each other, 7x slower; peak RSS differs by ~10 MiB)")
    ap.add_argument("--data", default=str(HERE / ".data"), help="folder for the generated data (kept, reused)")
    ap.add_argument("--quick", action="store_true", help="a 3 Mb genome, 600 genes, 20,000 records; prints only")
    ap.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    ap.add_argument("--fresh", action="store_true", help="measure again what the results file of this data has")
    args = ap.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # ends the measurement running (see measure)
    args.models = MODELS if args.models == "all" else args.models.split(",")
    cfg = QUICK if args.quick else FULL
    uptime0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    t_start = time.perf_counter()
    folder = Path(args.data) / ("gencode_like_quick" if args.quick else "gencode_like")
    data = make_data(folder, cfg)
    codes = {"new": ROOT}
    if "before" in args.codes.split(","):
        codes["before"] = ensure_before(Path(args.before_path), args.before)
    codes = {k: v for k, v in codes.items() if k in args.codes.split(",")}
    results_file = folder / "memory_results.json"  # measurements so far (a stopped benchmark goes on)
    commits, trees = {}, {}
    for name, path in codes.items():
        commits[name], trees[name] = commit_of(path)
    results = {} if args.fresh or not results_file.exists() else json.loads(results_file.read_text())
    results = {k: r for k, r in results.items()
               if r.get("seqzoo_tree") == trees.get(k.split("|")[0]) and r.get("threads") == args.threads
               and not r.get("error")}  # a failed run (missing weights, a crash) is measured again
    work = folder / "run"
    work.mkdir(exist_ok=True)
    vcfs = {**{int(k): v for k, v in data["vcf"].items()},
            **{n: str(folder / f"variants.first{n}.vcf") for n in BPNET_SCORE_RECORDS}}
    for code, model, command, n in plan(args.models, list(codes), cfg):
        key = f"{code}|{model}|{command}|{n}"
        if key in results:
            continue
        smaller = [r for k, r in results.items() if k.rsplit("|", 1)[0] == key.rsplit("|", 1)[0]
                   and int(k.rsplit("|", 1)[1]) < n and r["stopped"]]
        if smaller:  # the smaller VCF already ran past the limit: the larger one would stop at the same point
            print(f"skipping {key}: the smaller VCF's run was stopped at the time limit", file=sys.stderr)
            continue
        print(f"[{(time.perf_counter() - t_start) / 60:5.1f} min] {key} ...", file=sys.stderr, flush=True)
        r = measure(codes[code], command, model, data, vcfs[n], work, args.time_limit, args.threads)
        r.update(commit=commits[code], seqzoo_tree=trees[code], threads=args.threads)
        results[key] = r
        results_file.write_text(json.dumps(results, indent=1))
        print(f"    {cell(r, n)}; load {r['load']}", file=sys.stderr, flush=True)
    uptime1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    body = report({k: results[k] for k in (f"{c}|{m}|{cmd}|{n}" for c, m, cmd, n in plan(args.models, list(codes), cfg))
                   if k in results}, data, cfg, args, commits, time.perf_counter() - t_start, (uptime0, uptime1))
    print(body)
    if not (args.no_write or args.quick):
        common.update_results("memory", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
