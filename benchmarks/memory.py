"""Peak memory of `seqzoo score` / `seqzoo windows` on a large synthetic VCF, every model, with a
non-streaming baseline measured in the same run.

Each run is a separate process (`python -m seqzoo ...`); its own peak resident set size comes from
``os.wait4`` after it exits, with the wall time and the allele rate. Target: < 2 GiB peak RSS for
every model on 1,000,000 records (streamed in chunks of whole records, written incrementally).

Rows:
- seqzoo as shipped (chunks of 4,096 rows) on N records (default 1,000,000) and on N/10 records:
  a flat peak shows that memory does not grow with the VCF.
- baseline on N/10 records: the same program with one chunk for the whole VCF
  (``--chunk-rows`` above the row count), i.e. every window and score held in memory before
  anything is written, as a read-everything-then-score script does (per-position model outputs
  stay bounded by the scorer's 1,024-row slices in both modes).
- BPNet-OSKN scores every variant (1000-nt windows, ~56 windows/s on 2 CPU cores): its `score`
  rows use the first 5,000 and 1,000 records; its 1,000,000-record row is `seqzoo windows` (the same VCF,
  FASTA and window streaming without the forward pass).

HAL and BPNet-OSKN run with stand-in weights of the published layouts (a random HAL table; the
Keras-built random-weights BPNet fixture in tests/fixtures/bpnet), since their files are not
reachable here; memory and speed do not depend on the values.

Usage: python benchmarks/memory.py [--records 1000000] [--models all|A,B] [--no-write]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from seqzoo.synthetic import gtf_line, random_sequence, write_fasta, write_gtf  # noqa: E402


def make_dataset(out: Path, n_records: int, seed: int = 0) -> dict[str, Path]:
    """One 2 Mb contig with 100 genes carrying every feature, and ``n_records`` SNVs (sorted): a
    fifth each in the genes' 5'UTRs, within 100 nt of their 3' ends, within 80 nt of an exon
    boundary (donors and acceptors), and anywhere in [TSS - 7 kb, TSS + 8.6 kb]; a fifth anywhere."""
    rng = np.random.default_rng(seed)
    length = 2_000_000
    seq = random_sequence(rng, length)
    lines, spans = [], {"utr": [], "end": [], "boundary": [], "promoter": []}
    for g in range(100):
        left = 15_000 + g * 19_000
        strand = "+" if g % 2 == 0 else "-"
        tid, gid = f"T{g}", f"G{g}"
        exons = [(left, left + 199), (left + 600, left + 799), (left + 1200, left + 1599)]
        lines += [gtf_line("1", "gene", left, left + 1599, strand, tid, gid),
                  gtf_line("1", "transcript", left, left + 1599, strand, tid, gid)]
        lines += [gtf_line("1", "exon", s, e, strand, tid, gid) for s, e in exons]
        utr = (left, left + 59) if strand == "+" else (left + 1540, left + 1599)
        cds = (left + 60, left + 1399) if strand == "+" else (left + 200, left + 1539)
        lines += [gtf_line("1", "five_prime_utr", *utr, strand, tid, gid), gtf_line("1", "CDS", *cds, strand, tid, gid)]
        end = left + 1599 if strand == "+" else left
        spans["utr"].append(utr)
        spans["end"].append((end - 100, end + 100))
        spans["boundary"] += [(b - 80, b + 80) for b in (left + 199, left + 600, left + 799, left + 1200)]
        spans["promoter"].append((left - 7000, left + 8600) if strand == "+" else (left - 7000 + 1599, left + 8600))
    write_fasta(out / "genome.fa", {"1": seq})
    write_gtf(out / "annotation.gtf", lines)
    kind = rng.integers(0, 5, n_records)
    pos = rng.integers(1, length - 10, n_records)  # kind 4: anywhere
    for k, name in enumerate(spans):
        chosen = np.array(spans[name])[rng.integers(0, len(spans[name]), int((kind == k).sum()))]
        pos[kind == k] = rng.integers(chosen[:, 0], chosen[:, 1] + 1)
    pos = np.sort(np.clip(pos, 1, length - 10))
    with open(out / "variants.vcf", "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##contig=<ID=1,length=%d>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" % length)
        for p in pos:
            ref = seq[p - 1]
            alt = "ACGT"[("ACGT".index(ref) + 1 + int(p) % 3) % 4]
            fh.write(f"1\t{p}\t.\t{ref}\t{alt}\t.\t.\t.\n")
    return {"fasta": out / "genome.fa", "gtf": out / "annotation.gtf", "vcf": out / "variants.vcf"}


BPNET_SCORE_RECORDS = 5_000
ALL_MODELS = ["Framepool", "APARENT2", "Xpresso/human_median", "HAL", "BPNet-OSKN"]
ROOT = Path(__file__).resolve().parents[1]


def first_records(src: Path, dst: Path, n: int) -> Path:
    with open(src) as fh, open(dst, "w") as out:
        for line in fh:
            if not line.startswith("#"):
                if n == 0:
                    break
                n -= 1
            out.write(line)
    return dst


def stand_in_weights(model: str, work: Path) -> str | None:
    if model == "HAL":
        path = work / "hal_table.npz"
        if not path.exists():
            np.savez(path, weights=np.random.default_rng(0).normal(size=(4096, 8)))
        return str(path)
    if model == "BPNet-OSKN":
        return str(ROOT / "tests" / "fixtures" / "bpnet" / "bpnet.fixture.h5")
    return None


def run(command: str, model: str, paths: dict, vcf: Path, out: Path, chunk_rows: int | None = None,
        weights: str | None = None) -> dict:
    """Wall seconds, peak RSS (MiB) and the summary of one seqzoo process (its own rusage, via wait4)."""
    import json

    argv = [sys.executable, "-m", "seqzoo", command, "--model", model, "--fasta", str(paths["fasta"]),
            "--vcf", str(vcf), "-o", str(out), "--quiet"]
    if model != "BPNet-OSKN":
        argv += ["--gtf", str(paths["gtf"])]
    if chunk_rows:
        argv += ["--chunk-rows", str(chunk_rows)]
    if weights and command == "score":
        argv += ["--weights", weights]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {os.waitstatus_to_exitcode(status)}")
    wall = time.perf_counter() - t0
    summary = json.loads(Path(str(out) + ".summary.json").read_text())
    out.unlink()
    return {"wall": wall, "peak": usage.ru_maxrss / 1024, "summary": summary}  # ru_maxrss: KiB on Linux


def main(argv=None) -> int:
    import common

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--models", default="all")
    ap.add_argument("--no-write", action="store_true", help="print only; do not update RESULTS.md")
    args = ap.parse_args(argv)
    models = ALL_MODELS if args.models == "all" else args.models.split(",")
    small = max(args.records // 10, 1)
    rows = []
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        paths = make_dataset(tmp, args.records)
        vcf_small = first_records(paths["vcf"], tmp / "small.vcf", small)
        vcf_bpnet = first_records(paths["vcf"], tmp / "bpnet.vcf", BPNET_SCORE_RECORDS)
        vcf_bpnet_small = first_records(paths["vcf"], tmp / "bpnet_small.vcf", BPNET_SCORE_RECORDS // 5)
        made = time.perf_counter() - t0
        print(f"dataset: {args.records:,} records in {made:.1f} s", file=sys.stderr)

        def measure(model, command, vcf, n, label, chunk_rows=None):
            r = run(command, model, paths, vcf, tmp / "out.tsv.gz", chunk_rows, stand_in_weights(model, tmp))
            s = r["summary"]
            assert s["identity_holds"] and s["records"] == n, s
            rows.append([model, command, f"{n:,}", label, f"{r['wall']:.1f}", f"{s['alleles'] / r['wall']:,.0f}",
                         f"{s['rows']:,}", f"{r['peak']:,.0f}", "yes" if r["peak"] < 2048 else "NO"])
            print("| " + " | ".join(rows[-1]) + " |", file=sys.stderr)

        for model in models:
            if model == "BPNet-OSKN":
                measure(model, "windows", paths["vcf"], args.records, "streaming (windows only)")
                measure(model, "score", vcf_bpnet, BPNET_SCORE_RECORDS, "streaming")
                measure(model, "score", vcf_bpnet_small, BPNET_SCORE_RECORDS // 5, "streaming")
                measure(model, "score", vcf_bpnet, BPNET_SCORE_RECORDS, "baseline: one chunk", chunk_rows=10**9)
                continue
            measure(model, "score", paths["vcf"], args.records, "streaming")
            measure(model, "score", vcf_small, small, "streaming")
            measure(model, "score", vcf_small, small, "baseline: one chunk", chunk_rows=10**9)
    table = common.markdown_table(["model", "command", "records", "mode", "wall (s)", "alleles/s", "rows",
                                   "peak RSS (MiB)", "< 2 GiB"], rows)
    print(table)
    if not args.no_write:
        body = (f"## Peak memory ({common.timestamp()})\n\n"
                f"Command: `python benchmarks/memory.py --records {args.records}` (total "
                f"{time.perf_counter() - t_start:.0f} s). Synthetic data: one 2 Mb contig, 100 genes with 5'UTR, "
                f"CDS, 3 exons (donors), TSS windows; {args.records:,} SNVs spread over the genes' windows and "
                f"between them (generated in {made:.0f} s). One process per row, output `.tsv.gz`; peak RSS of "
                f"that process (`wait4`). \"streaming\": seqzoo as shipped (chunks of 4,096 rows); \"baseline: one "
                f"chunk\": the same program holding every window and score of the VCF before writing "
                f"(`--chunk-rows` above the row count; per-position outputs stay bounded by the scorer's "
                f"1,024-row slices in both modes). HAL and BPNet-OSKN use stand-in weights of the published "
                f"layouts. BPNet-OSKN scores every variant at ~56 windows/s, so its `score` rows use the first "
                f"{BPNET_SCORE_RECORDS:,} and {BPNET_SCORE_RECORDS // 5:,} records and its {args.records:,}-record row "
                f"streams the windows without "
                f"the model.\n\nMachine:\n\n{common.machine_markdown(common.machine_info())}\n\n{table}\n")
        common.update_results("memory", body)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
