"""Peak memory of `seqzoo score` / `seqzoo windows` on a large synthetic VCF, per model.

Each run is a separate process (`python -m seqzoo ...`); its peak resident set size is read from
``resource.getrusage(RUSAGE_CHILDREN)`` after it exits, with the wall time and the allele rate.
The issue target: < 2 GiB peak RSS for every model on 1,000,000 records (streamed in chunks).

Usage: python benchmarks/memory.py [--records 1000000] [--models Framepool,APARENT2,Xpresso/human_median]
       [--command score|windows]
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
    """One 2 Mb contig with 100 genes carrying every feature, and ``n_records`` SNVs spread over the
    genes' windows (5'UTR, TSS, 3' end, donors) and between them."""
    rng = np.random.default_rng(seed)
    length = 2_000_000
    seq = random_sequence(rng, length)
    lines, windows = [], []
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
        windows.append((left - 7000, left + 8600))
    write_fasta(out / "genome.fa", {"1": seq})
    write_gtf(out / "annotation.gtf", lines)
    lo = np.array([w[0] for w in windows])
    starts = np.sort(rng.integers(0, len(windows), n_records))
    pos = lo[starts] + rng.integers(0, 15_600, n_records)
    pos = np.sort(np.clip(pos, 1, length - 10))
    with open(out / "variants.vcf", "w") as fh:
        fh.write("##fileformat=VCFv4.2\n##contig=<ID=1,length=%d>\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" % length)
        for p in pos:
            ref = seq[p - 1]
            alt = "ACGT"[("ACGT".index(ref) + 1 + int(p) % 3) % 4]
            fh.write(f"1\t{p}\t.\t{ref}\t{alt}\t.\t.\t.\n")
    return {"fasta": out / "genome.fa", "gtf": out / "annotation.gtf", "vcf": out / "variants.vcf"}


def run(command: str, model: str, paths: dict, out: Path) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one seqzoo process (its own rusage, via wait4)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "seqzoo", command, "--model", model, "--fasta",
                             str(paths["fasta"]), "--gtf", str(paths["gtf"]), "--vcf", str(paths["vcf"]),
                             "-o", str(out), "--quiet"])
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"seqzoo {command} --model {model} exited {proc.returncode}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024  # ru_maxrss in KiB on Linux


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--models", default="Framepool,APARENT2,Xpresso/human_median")
    ap.add_argument("--command", default="score", choices=["score", "windows"])
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        paths = make_dataset(tmp, args.records)
        print(f"dataset: {args.records:,} records in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        print(f"| model | command | records | wall (s) | alleles/s | peak RSS (MiB) | < 2 GiB |")
        print("|---|---|---|---|---|---|---|")
        for model in args.models.split(","):
            wall, peak = run(args.command, model, paths, tmp / f"out_{model.replace('/', '_')}.tsv.gz")
            print(f"| {model} | {args.command} | {args.records:,} | {wall:.1f} | {args.records / wall:,.0f} | "
                  f"{peak:,.0f} | {'yes' if peak < 2048 else 'NO'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
