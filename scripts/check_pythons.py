#!/usr/bin/env python3
"""Install seqzoo on every available Python 3.10-3.13 and run a smoke ``seqzoo score`` on the bundled
example, each in a fresh virtual environment; prints a Markdown table (the README's
"Python versions" table).

    SEQZOO_WEIGHTS_DIR=/path/to/weights python3 scripts/check_pythons.py [--versions 3.10 3.12 ...]
        [--work /tmp/seqzoo-pythons] [--keep]

Interpreters are found as ``python3.X`` on PATH or under ``$(pyenv root)/versions/3.X.*``. Each
version gets ``scripts/install.py --venv WORK/py3.X`` (the constraints.txt pins on 3.11, setup.py's
ranges elsewhere; torch as install.py decides: where download.pytorch.org is unreachable pip's
default, the CUDA build, is downloaded — several GB per version, which is why this is not part of
``.ci/run``), then ``seqzoo score --model Framepool,APARENT2`` on ``examples/`` and a comparison of
its scores with the first version's (max |Δ|). Takes 5-20 minutes per version, mostly downloads.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ("3.10", "3.11", "3.12", "3.13")
MODELS = "Framepool,APARENT2"


def _runs(exe: str, version: str) -> bool:
    """Whether ``exe`` starts and is Python ``version`` (a pyenv shim of an inactive version is not)."""
    try:
        out = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def find_python(version: str) -> str | None:
    try:
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        root = os.path.expanduser("~/.pyenv")
    candidates = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"), reverse=True)
    candidates.append(shutil.which(f"python{version}") or "")
    return next((exe for exe in candidates if exe and _runs(exe, version)), None)


def smoke(python: str, venv_dir: Path, out: Path) -> tuple[str, str]:
    """(status, detail) of installing and scoring with ``python``."""
    t0 = time.time()
    install = subprocess.run([python, str(ROOT / "scripts" / "install.py"), "--venv", str(venv_dir)],
                             capture_output=True, text=True)
    if install.returncode != 0:
        return "install failed", install.stderr.strip().splitlines()[-1] if install.stderr.strip() else "?"
    versions = subprocess.run([str(venv_dir / "bin" / "python"), "-c",
                               "import numpy, pandas, torch, seqzoo; print(f'numpy {numpy.__version__}, pandas "
                               "{pandas.__version__}, torch {torch.__version__}, seqzoo {seqzoo.__version__}')"],
                              capture_output=True, text=True).stdout.strip()
    ex = ROOT / "examples"
    score = subprocess.run([str(venv_dir / "bin" / "seqzoo"), "score", "--model", MODELS, "--fasta", str(ex / "genome.fa"),
                            "--gtf", str(ex / "annotation.gtf"), "--vcf", str(ex / "variants.vcf"), "-o", str(out), "-q"],
                           capture_output=True, text=True)
    if score.returncode != 0:
        return "score failed", score.stderr.strip().splitlines()[-1] if score.stderr.strip() else "?"
    return "ok", f"{versions}; {time.time() - t0:.0f} s"


def max_delta(a: Path, b: Path) -> float:
    """Largest |difference| between the numeric columns of two seqzoo TSVs with the same rows."""
    import csv

    def read(p):
        with open(p) as fh:
            return list(csv.DictReader(fh, delimiter="\t"))
    ra, rb = read(a), read(b)
    if len(ra) != len(rb):
        return float("inf")
    worst = 0.0
    for x, y in zip(ra, rb):
        for k, v in x.items():
            try:
                worst = max(worst, abs(float(v) - float(y[k])))
            except ValueError:
                if v != y[k]:
                    return float("inf")
    return worst


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--versions", nargs="*", default=list(VERSIONS))
    p.add_argument("--work", default="/tmp/seqzoo-pythons")
    p.add_argument("--keep", action="store_true", help="keep the virtual environments")
    args = p.parse_args(argv)
    if not os.environ.get("SEQZOO_WEIGHTS_DIR"):
        print("note: SEQZOO_WEIGHTS_DIR is not set: the weights are downloaded into the cache", file=sys.stderr)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows, first = [], None
    for version in args.versions:
        python = find_python(version)
        if python is None:
            rows.append((version, "not found", "", ""))
            continue
        venv_dir, out = work / f"py{version}", work / f"scores-py{version}.tsv"
        shutil.rmtree(venv_dir, ignore_errors=True)
        status, detail = smoke(python, venv_dir, out)
        delta = ""
        if status == "ok":
            if first is None:
                first = out
                delta = "reference"
            else:
                delta = f"{max_delta(first, out):.1e}"
        rows.append((version, status, detail, delta))
        print(f"Python {version}: {status} ({detail}) {delta}", file=sys.stderr, flush=True)
        if not args.keep:
            shutil.rmtree(venv_dir, ignore_errors=True)
    print("| Python | result | versions; install + score time | max abs diff of the scores |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0 if all(r[1] in ("ok", "not found") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
