#!/usr/bin/env python3
"""Set up seqzoo in a virtual environment: the README's set-up commands run this.

    python3 scripts/install.py            # .venv with seqzoo (+ parquet, plot): enough to score
    python3 scripts/install.py --tests    # + kipoi, kipoi-veff, the test tools, and .venv-snakemake

What it does, printing every command:

1. creates the virtual environment (``--venv``, default ``.venv``) unless it exists;
2. installs torch: the CPU build (~200 MB) unless an NVIDIA GPU is visible (``nvidia-smi``) or
   ``--cuda`` is given. The CPU build comes from https://download.pytorch.org/whl/cpu when that
   host resolves; where it does not (an offline mirror, a proxy that only serves PyPI), pip's own
   configured indexes are used as they are (e.g. a local CPU wheel). PyPI's default Linux torch is
   the CUDA build (several GB with its CUDA packages): for a GPU, ``--cuda`` (or an NVIDIA GPU) gives
   it, or pick a CUDA version from https://pytorch.org/get-started/locally/;
3. installs seqzoo (editable) with its extras. On Python 3.11 the known-good pins of
   ``constraints.txt`` apply (the tested stack); on other versions setup.py's ranges do (numpy 2
   included; the kipoi extra needs numpy < 2, which has no wheels for Python 3.13);
4. with ``--tests``: the Snakemake workflow's own environment ``.venv-snakemake`` with the SLURM
   executor plugin (``constraints-snakemake.txt``; Snakemake needs a newer attrs than kipoi's pin).
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TESTED_PYTHON = (3, 11)
#: kipoi-veff and what it needs, installed with --no-deps (README, "kipoi-veff users")
KIPOI_VEFF = ["kipoi-veff==0.3.1", "pyvcf3==1.0.4", "intervaltree==3.2.1", "sortedcontainers==2.4.0"]


def run(cmd: list[str]) -> None:
    print("+ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def has_nvidia_gpu() -> bool:
    if not shutil.which("nvidia-smi"):
        return False
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def resolves(host: str, timeout: float = 3.0) -> bool:
    socket.setdefaulttimeout(timeout)
    try:
        socket.getaddrinfo(host, 443)
        return True
    except OSError:
        return False


def torch_pin() -> str:
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.startswith("torch=="):
            return line.strip()
    return "torch"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--venv", default=".venv", help="virtual environment folder (default: .venv)")
    p.add_argument("--tests", action="store_true", help="also kipoi and the test tools, and .venv-snakemake")
    p.add_argument("--extras", default="parquet,plot", help="seqzoo extras (default: parquet,plot)")
    p.add_argument("--cuda", action="store_true", help="install pip's default torch (the CUDA build on Linux)")
    p.add_argument("--no-pins", action="store_true", help="setup.py's ranges instead of constraints.txt")
    args = p.parse_args(argv)
    if sys.version_info < (3, 10):
        sys.exit(f"seqzoo needs Python >= 3.10, this is {sys.version.split()[0]}")
    env = ROOT / args.venv
    if not (env / "bin" / "python").exists():
        print(f"+ python -m venv {env}", flush=True)
        venv.create(env, with_pip=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q"]
    pinned = sys.version_info[:2] == TESTED_PYTHON and not args.no_pins
    if not pinned:
        print(f"Python {sys.version.split()[0]}: using setup.py's ranges (the pins of constraints.txt are tested on "
              f"{'.'.join(map(str, TESTED_PYTHON))})", flush=True)
    torch = torch_pin() if pinned else "torch>=2.1"
    if args.cuda or has_nvidia_gpu():
        print("torch: pip's default build (CUDA on Linux)", flush=True)
        run(pip + [torch])
    elif resolves("download.pytorch.org"):
        print(f"torch: the CPU build from {CPU_INDEX} (no NVIDIA GPU found; --cuda for the CUDA build)", flush=True)
        run(pip + ["--extra-index-url", CPU_INDEX, torch])
    else:
        print("torch: download.pytorch.org is not reachable; pip's configured indexes decide the build", flush=True)
        run(pip + [torch])
    extras = args.extras + (",kipoi,test" if args.tests else "")
    run(pip + (["-c", str(ROOT / "constraints.txt")] if pinned else []) + ["-e", f"{ROOT}[{extras}]"])
    if args.tests:
        # kipoi-veff (tests/test_kipoi_veff.py, seqzoo.veff) without its declared dependencies: it names
        # pyvcf, which does not build on Python 3.11 (pyvcf3 replaces it), and intervaltree<3
        run(pip + ["--no-deps"] + KIPOI_VEFF)
    if args.tests:
        snake = ROOT / ".venv-snakemake"
        if not (snake / "bin" / "python").exists():
            print(f"+ python -m venv {snake}", flush=True)
            venv.create(snake, with_pip=True)
        run([str(snake / "bin" / "python"), "-m", "pip", "install", "-q", "-c",
             str(ROOT / "constraints-snakemake.txt"), "snakemake", "snakemake-executor-plugin-slurm"])
    print(f"seqzoo is installed in {env} ({env / 'bin' / 'seqzoo'})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
