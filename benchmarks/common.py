"""Helpers shared by the seqzoo benchmarks (no seqzoo imports here, so any model can use them).

* :func:`machine_info` / :func:`machine_markdown`: CPU, cores, memory, library versions, threads;
* :func:`matmul_gflops`: the machine's float32 matmul throughput, the yardstick for a model's
  achieved GFLOP/s;
* :func:`best_time`: best-of-N wall time of a callable;
* :class:`CpuMonitor`: how much CPU *other* processes used while something was timed (a benchmark
  on a shared 2-core machine is only meaningful if that is ~0);
* :func:`markdown_table` and :func:`update_results`: the Markdown output and the per-model section
  of ``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import platform
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"


# -- machine ---------------------------------------------------------------------------------------
def _cpuinfo_field(name: str) -> str | None:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key.strip() == name:
                    return value.strip()
    except OSError:
        pass
    return None


def _lscpu() -> dict[str, str]:
    if not shutil.which("lscpu"):
        return {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    fields = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if value:
            fields[key.strip()] = value.strip()
    return fields


def cpu_model() -> str:
    """CPU model name, with family/model numbers (VMs often hide the marketing name)."""
    lscpu = _lscpu()
    name = _cpuinfo_field("model name") or lscpu.get("Model name") or platform.processor() or "unknown CPU"
    family, model = _cpuinfo_field("cpu family") or lscpu.get("CPU family"), _cpuinfo_field("model") or lscpu.get("Model")
    extra = []
    if family and model:
        extra.append(f"family {family}, model {model}")
    flags = (_cpuinfo_field("flags") or lscpu.get("Flags") or "").split()
    isa = [f for f in ("avx512f", "avx512_bf16", "avx2", "fma") if f in flags]
    if isa:
        extra.append("/".join(isa))
    hyper = lscpu.get("Hypervisor vendor")
    if hyper:
        extra.append(f"{hyper} VM")
    return f"{name} ({'; '.join(extra)})" if extra else name


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def machine_info() -> dict[str, str]:
    """Ordered description of the machine and the numeric stack, as strings."""
    import numpy as np
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    mem = memory_gib()
    info = {
        "CPU": cpu_model(),
        "logical CPUs (usable)": f"{os.cpu_count()} ({usable})",
        "memory": f"{mem:.1f} GiB" if mem else "unknown",
        "OS / Python": f"{platform.system()} {platform.release()} / Python {platform.python_version()}",
        "torch": f"{torch.__version__} (CPU capability {torch.backends.cpu.get_cpu_capability()}, "
                 f"oneDNN {'on' if torch.backends.mkldnn.is_available() else 'off'})",
        "numpy": np.__version__,
        "torch threads (intra / inter-op)": f"{torch.get_num_threads()} / {torch.get_num_interop_threads()}",
        "OMP_NUM_THREADS / MKL_NUM_THREADS": f"{os.environ.get('OMP_NUM_THREADS', 'unset')} / "
                                             f"{os.environ.get('MKL_NUM_THREADS', 'unset')}",
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    return info


def machine_markdown(info: dict[str, str]) -> str:
    return markdown_table(["", ""], [[k, v] for k, v in info.items()], header=False)


# -- timing ----------------------------------------------------------------------------------------
def best_time(fn: Callable[[], object], repeats: int = 3, warmup: int = 1) -> tuple[float, list[float]]:
    """(best wall seconds, all wall seconds) of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def matmul_gflops(n: int = 2048, repeats: int = 5, dtype=None) -> float:
    """Best float32 (default) ``torch.matmul`` throughput of two n x n matrices, in GFLOP/s,
    with torch's current thread settings (2 n^3 flops per product)."""
    import torch

    dtype = dtype or torch.float32
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen, dtype=dtype)
    b = torch.randn(n, n, generator=gen, dtype=dtype)
    out = torch.empty(n, n, dtype=dtype)
    best, _ = best_time(lambda: torch.matmul(a, b, out=out), repeats=repeats, warmup=2)
    return 2.0 * n ** 3 / best / 1e9


def _proc_stat_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return (total - idle) / hz, total / hz


class CpuMonitor:
    """Context manager: wall time, this process's CPU time, and other processes' CPU use.

    ``foreign_cores`` is the average number of cores used by *other* processes (plus hypervisor
    steal) during the block; anything well above 0 means the timing is contended. Linux only;
    elsewhere ``foreign_cores`` is None.
    """

    def __enter__(self):
        self._ru = resource.getrusage(resource.RUSAGE_SELF)
        try:
            self._stat = _proc_stat_busy()
        except (OSError, ValueError):
            self._stat = None
        self._t = time.perf_counter()
        self.timed_out = False  # set by the helpers that run the block under a time limit
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._t
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.self_cpu = (ru.ru_utime - self._ru.ru_utime) + (ru.ru_stime - self._ru.ru_stime)
        self.foreign_cores = None
        if self._stat is not None:
            busy, _ = _proc_stat_busy()
            machine_busy = busy - self._stat[0]
            self.foreign_cores = max(0.0, (machine_busy - self.self_cpu) / self.wall) if self.wall > 0 else 0.0
        return False


class QuietWaiter:
    """Waits (sleeping) until other processes leave the CPUs alone, within a total time budget.

    ``wait()`` samples the machine's busy CPU over ``window`` seconds while this process sleeps and
    returns as soon as a window's average is below ``threshold`` cores, or when the remaining budget
    (shared by all calls) is spent. Returns the seconds waited. Linux only (no-op elsewhere).
    """

    def __init__(self, budget_s: float, threshold: float = 0.25, window: float = 0.5):
        self.budget, self.threshold, self.window = budget_s, threshold, window
        self.waited = 0.0

    def wait(self) -> float:
        t0 = time.perf_counter()
        while self.budget - self.waited - (time.perf_counter() - t0) > 0:
            try:
                busy0, _ = _proc_stat_busy()
            except (OSError, ValueError):
                break
            time.sleep(self.window)
            busy1, _ = _proc_stat_busy()
            if (busy1 - busy0) / self.window < self.threshold:
                break
        spent = time.perf_counter() - t0
        self.waited += spent
        return spent


# -- output ----------------------------------------------------------------------------------------
def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]], header: bool = True) -> str:
    """A GitHub-flavoured Markdown table (cells str()-ed, '|' escaped).

    With ``header=False`` the header row is left blank (a key/value table).
    """
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    rows = [[cell(v) for v in r] for r in rows]
    heads = [cell(h) for h in headers] if header else [" " for _ in headers]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def fmt(x: float | None) -> str:
    """A number for a table: thousands separators, about 3 significant digits, no exponent."""
    if x is None:
        return "n/a"
    if x != x:  # NaN
        return "nan"
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


_PREAMBLE = """# seqzoo benchmark results

Written by the scripts in this folder (`python benchmarks/<model>.py`); each model's section is
replaced by its script's last full run. See `benchmarks/README.md` for what is measured and how.
"""


def update_results(section: str, body: str, path: str | os.PathLike = RESULTS_PATH) -> Path:
    """Replace (or append) the section ``section`` of the results file with ``body``.

    Sections are delimited by ``<!-- BEGIN section -->`` / ``<!-- END section -->`` so that every
    model's benchmark keeps its own section in one file.
    """
    path = Path(path)
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else _PREAMBLE
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text)
    return path


def timestamp() -> str:
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


# -- scaffolding shared by the model scripts (seqzoo imported lazily) -------------------------------
CONTENDED_CORES = 0.25  # other processes' average core use above which a timing is flagged


def contended(*mons) -> bool:
    return any(m is not None and m.foreign_cores is not None and m.foreign_cores > CONTENDED_CORES for m in mons)


class Worst:
    """The most contended of several monitors (for rows derived from several measurements)."""

    def __init__(self, *mons):
        loads = [m.foreign_cores for m in mons if m is not None and m.foreign_cores is not None]
        self.foreign_cores = max(loads) if loads else None
        self.timed_out = False


def status(value: float | None, target: float | None, mon=None) -> str:
    """PASS / FAIL of ``value`` against the lower bound ``target`` ("" without a target)."""
    if target is None:
        return ""
    if value is None:
        return "n/a (timed out, contended)" if contended(mon) else "n/a (timed out)"
    if value >= target:
        return "PASS"
    return "FAIL (contended, rerun)" if contended(mon) else "FAIL"


def load_note(mon) -> str:
    if mon is None or mon.foreign_cores is None:
        return "n/a"
    flag = " (contended)" if mon.foreign_cores > CONTENDED_CORES else ""
    if getattr(mon, "timed_out", False):
        flag += f" (timed out after {mon.wall:.0f} s)"
    return f"{mon.foreign_cores:.2f}{flag}"


def rate(count: float, seconds: float | None) -> float | None:
    """count / seconds, or None for a measurement that did not complete."""
    return None if not seconds else count / seconds


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a / b:.1f}x"


def random_seqs(n: int, length: int, seed: int = 0) -> list[str]:
    """``n`` uniformly random ACGT strings of ``length`` nt (vectorised)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    codes = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, size=(n, length))]
    return [row.tobytes().decode("ascii") for row in codes]


def random_genome(n_contigs: int, length: int, seed: int = 0) -> dict[str, str]:
    """Contigs ``1``, ``2``, ... of uniformly random ACGT."""
    return {str(i + 1): s for i, s in enumerate(random_seqs(n_contigs, length, seed))}


def sample_variants(rng, seq: str, chrom: str, start: int, end: int, n: int,
                    max_indel: int = 3) -> list[tuple]:
    """``n`` VCF records (chrom, pos 1-based, id, ref, alt) whose REF starts in the 0-based window
    [start, end) of contig sequence ``seq``: 1/2 SNVs, 1/4 insertions, 1/4 deletions of 1..max_indel nt
    (a deletion may run a few bases past ``end``; the window rules pull reference sequence in)."""
    out = []
    for _ in range(n):
        p0 = int(rng.integers(start, end))
        ref_base = seq[p0]
        kind = rng.random()
        if kind < 0.5:
            alt = "ACGT"[(("ACGT".index(ref_base)) + int(rng.integers(1, 4))) % 4]
            out.append((chrom, p0 + 1, None, ref_base, alt))
        elif kind < 0.75:
            ins = "".join("ACGT"[i] for i in rng.integers(0, 4, size=int(rng.integers(1, max_indel + 1))))
            out.append((chrom, p0 + 1, None, ref_base, ref_base + ins))
        else:
            k = int(rng.integers(1, max_indel + 1))
            out.append((chrom, p0 + 1, None, seq[p0:p0 + k + 1], ref_base))
    return out


def variants_in_windows(rng, contigs: dict[str, str], windows: Iterable[tuple[str, int, int]],
                        n: int) -> list[tuple]:
    """:func:`sample_variants`: ``n`` records in each (chrom, start, end) window of ``contigs``."""
    records = []
    for chrom, start, end in windows:
        records += sample_variants(rng, contigs[chrom], chrom, start, end, n)
    return records


def write_dataset(out_dir: Path, contigs: dict[str, str], records: list[tuple],
                  gtf_lines: Sequence[str] | None = None) -> dict[str, Path]:
    """The files of a synthetic dataset in ``out_dir``: ``genome.fa`` (``contigs``), ``variants.vcf``
    (``records`` sorted by contig order, position, REF, ALT) and, given ``gtf_lines``,
    ``annotation.gtf``. Returns their paths under ``fasta``, ``vcf`` and ``gtf``."""
    from seqzoo.synthetic import write_fasta, write_gtf, write_vcf

    order = {c: i for i, c in enumerate(contigs)}
    records = sorted(records, key=lambda r: (order[r[0]], r[1], r[3], r[4]))
    paths = {"fasta": write_fasta(out_dir / "genome.fa", contigs)}
    if gtf_lines is not None:
        paths["gtf"] = write_gtf(out_dir / "annotation.gtf", gtf_lines)
    paths["vcf"] = write_vcf(out_dir / "variants.vcf", records, {c: len(s) for c, s in contigs.items()})
    return paths


def vcf_subset(src, dst, n_records: int) -> Path:
    """The header and the first ``n_records`` records of a plain VCF."""
    kept = 0
    with open(src) as fin, open(dst, "w") as fout:
        for line in fin:
            if line.startswith("#"):
                fout.write(line)
            elif kept < n_records:
                fout.write(line)
                kept += 1
            else:
                break
    return Path(dst)


def read_summary(out) -> dict:
    """The ``OUT.summary.json`` that ``seqzoo score`` writes next to ``OUT``."""
    import json
    return json.loads(Path(str(out) + ".summary.json").read_text())


def max_abs_diff(a_tsv, b_tsv, columns: Sequence[str]) -> tuple[float, int]:
    """Max |a - b| over ``columns`` of two TSVs with the same rows in the same order (NaN == NaN,
    +-inf == same inf)."""
    import csv
    import math

    worst, n = 0.0, 0
    with open(a_tsv) as fa, open(b_tsv) as fb:
        for ra, rb in zip(csv.DictReader(fa, delimiter="\t"), csv.DictReader(fb, delimiter="\t"), strict=True):
            if (ra["variant_id"], ra["feature_id"]) != (rb["variant_id"], rb["feature_id"]):
                raise AssertionError(f"row {n}: {ra['variant_id']}/{ra['feature_id']} vs "
                                     f"{rb['variant_id']}/{rb['feature_id']}")
            for c in columns:
                x, y = float(ra[c]), float(rb[c])
                if math.isnan(x) and math.isnan(y) or x == y:
                    continue
                worst = max(worst, abs(x - y))
            n += 1
    return worst, n


class Counted:
    """Wraps ``model.predict_sequences`` to count the sequences predicted, calls and time spent."""

    def __init__(self, model):
        self.model, self.seqs, self.calls, self.seconds = model, 0, 0, 0.0
        self._orig = model.predict_sequences

    def __enter__(self):
        def counted(seqs, *args, **kwargs):
            t0 = time.perf_counter()
            out = self._orig(seqs, *args, **kwargs)
            self.seconds += time.perf_counter() - t0
            self.seqs += len(seqs)
            self.calls += 1
            return out
        self.model.predict_sequences = counted  # instance attribute shadows the method
        return self

    def __exit__(self, *exc):
        del self.model.predict_sequences
        return False


def score_argv(model_name: str, fasta, gtf, vcf, out, batch_size: int, weights: str | None = None,
               extra: Sequence[str] = ()) -> list[str]:
    """``seqzoo score`` arguments (quiet) for :func:`run_cli`."""
    argv = ["score", "--model", model_name, "--fasta", str(fasta), "--gtf", str(gtf), "--vcf", str(vcf),
            "-o", str(out), "--quiet", "--batch-size", str(batch_size), *extra]
    if weights:
        argv += ["--weights", weights]
    return argv


class TimeLimitExceeded(BaseException):
    """Raised by :func:`time_limit` (a BaseException, so no ``except Exception`` swallows it)."""


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Interrupt the block with :class:`TimeLimitExceeded` after ``seconds`` (SIGALRM; main thread
    on Unix only, elsewhere no limit). Used so that a measurement slowed 10-50x by other processes
    (2 OpenMP threads on 2 cores with a busy neighbour) cannot stretch a run without bound."""
    import signal
    import threading

    if not seconds or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise TimeLimitExceeded(seconds)

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def best_time_limited(fn: Callable[[], object], repeats: int, limit: float | None,
                      warmup: int = 1) -> tuple[float | None, list[float], CpuMonitor]:
    """:func:`best_time` under a time limit for the whole measurement: (best of the runs completed
    or None, their times, monitor with ``timed_out``)."""
    times: list[float] = []
    with CpuMonitor() as mon:
        try:
            with time_limit(limit):
                for _ in range(warmup):
                    fn()
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t0)
        except TimeLimitExceeded:
            mon.timed_out = True
    return (min(times) if times else None), times, mon


def run_cli(argv: list[str], model=None, scorer=None, counter: Counted | None = None,
            limit: float | None = None) -> CpuMonitor:
    """``seqzoo.cli.main(argv)`` timed; ``model`` preloaded (``seqzoo.load_model`` patched to return
    it) and/or ``scorer`` swapped in for ``seqzoo.cli.PairScorer``. With ``limit`` the run is
    interrupted after that many seconds (the monitor's ``timed_out`` is then True)."""
    from contextlib import ExitStack
    from unittest import mock

    import seqzoo
    import seqzoo.cli

    rc = 0
    with ExitStack() as stack:
        if model is not None:
            stack.enter_context(mock.patch.object(seqzoo, "load_model", lambda *a, **k: model))
        if scorer is not None:
            stack.enter_context(mock.patch.object(seqzoo.cli, "PairScorer", scorer))
        if counter is not None:
            stack.enter_context(counter)
        with CpuMonitor() as mon:
            try:
                with time_limit(limit):
                    rc = seqzoo.cli.main(argv)
            except TimeLimitExceeded:
                mon.timed_out = True
    if rc != 0:
        raise RuntimeError(f"seqzoo {' '.join(argv)} exited {rc}")
    return mon


def naive_pair_scorer(per_variant: bool = False):
    """A :class:`seqzoo.scoring.PairScorer` subclass that predicts ref and alt for every row, with
    no reference sharing (no cache) and no deduplication: the per-variant scheme of Kipoi's
    variant-effect plugin (ref and alt windows of each variant through the model).

    Batched (default): each slice of ``batch_size`` rows is one ``predict_sequences`` call on its
    ref windows and one on its alt windows. ``per_variant=True``: one ``predict_sequences([ref,
    alt])`` call per row. Extra model inputs (``WindowPair.inputs``, e.g. Xpresso's half-life
    features) are passed per sequence. Output rows and columns are exactly PairScorer's.
    """
    import numpy as np
    from seqzoo.scoring import PairScorer

    def stacked(pairs):
        if not pairs or not pairs[0].inputs:
            return {}
        return {k: np.stack([np.asarray(p.inputs[k]) for p in pairs]) for k in pairs[0].inputs}

    class NaivePairScorer(PairScorer):
        def predict_pairs(self, pairs):
            model, bs = self.model, self.batch_size
            refs, alts = [], []
            if per_variant:
                for p in pairs:
                    inp = stacked([p, p])
                    out = model.predict_sequences([p.ref_seq, p.alt_seq], batch_size=2, **self.extra, **inp)
                    refs.append({k: v[:1] for k, v in out.items()})
                    alts.append({k: v[1:] for k, v in out.items()})
            else:
                for start in range(0, len(pairs), bs):
                    batch = pairs[start:start + bs]
                    inp = stacked(batch)
                    refs.append(model.predict_sequences([p.ref_seq for p in batch], batch_size=bs, **self.extra, **inp))
                    alts.append(model.predict_sequences([p.alt_seq for p in batch], batch_size=bs, **self.extra, **inp))
            cat = lambda parts: {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}  # noqa: E731
            return cat(refs), cat(alts)

    NaivePairScorer.__name__ = "NaivePairScorer" + ("PerVariant" if per_variant else "")
    return NaivePairScorer


def _row_order(label) -> tuple[int, str]:
    """Sort key of a row label: "1" < "2" < "2a" < "2b" < "3a" < ... < "4b"."""
    m = re.match(r"(\d+)(.*)", str(label))
    return (int(m.group(1)), m.group(2)) if m else (1 << 30, str(label))


def count(n: int | None) -> str:
    """An integer count with thousands separators, or "n/a" for a run that did not complete."""
    return "n/a" if n is None else f"{n:,}"


class BenchRun:
    """The parts every model script shares: command-line options, logging, quiet waits, the run's
    time budget, the matmul yardstick at start and end, model load and forward-pass measurements,
    the working folder, the results table and the RESULTS.md section.

    ``BenchRun(title, section, description, default_batch, script, full=FULL, quick=QUICK)`` parses
    the common options (plus those a script adds to :attr:`parser` before :meth:`parse`), which
    also picks :attr:`cfg` (``quick`` with ``--quick``, else ``full``); :meth:`add` appends a table
    row; :meth:`finish` prints the section and (full runs) writes it. Rows may be added in any
    order: the table lists them by label (1, 2, 2a, 2b, 3a, ..., 4b).

    ``max_seconds``: the default time budget of a (quick, full) run, or None for no budget.
    """

    HEADERS = ["#", "measurement", "result", "target", "status", "other load (cores)", "notes"]

    def __init__(self, title: str, section: str, description: str, default_batch: int, script: str,
                 full: dict | None = None, quick: dict | None = None,
                 max_seconds: tuple[float, float] | None = (40, 180)):
        import argparse

        self.title, self.section, self.script, self.default_batch = title, section, script, default_batch
        self.sizes = {"full": full or {}, "quick": quick or full or {}}
        self.default_max_seconds = max_seconds
        budget_help = (f"default {max_seconds[1]:.0f}, {max_seconds[0]:.0f} with --quick; " if max_seconds
                       else "default: none; ")
        ap = argparse.ArgumentParser(description=description)
        ap.add_argument("--quick", action="store_true", help="smaller sizes; does not update RESULTS.md")
        ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
        ap.add_argument("--batch-size", type=int, default=default_batch,
                        help=f"model batch size (default {default_batch})")
        ap.add_argument("--weights", default=None, help="weights file (default: resolved by seqzoo)")
        ap.add_argument("--results", default=str(RESULTS_PATH), help="results Markdown file to update")
        ap.add_argument("--write", dest="write", action="store_true", default=None,
                        help="update the results file (default: yes for full runs, no with --quick)")
        ap.add_argument("--no-write", dest="write", action="store_false")
        ap.add_argument("--keep", default=None, help="write the synthetic dataset and outputs here (kept)")
        ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
        ap.add_argument("--wait-quiet", type=float, default=None, metavar="SECONDS",
                        help="before each measurement wait until other processes use < 0.25 cores, at most "
                             "SECONDS in all (default 60, 10 with --quick; 0: never wait)")
        ap.add_argument("--max-seconds", type=float, default=None, metavar="SECONDS",
                        help="time budget of the whole run: measurements still running when it is spent "
                             f"are interrupted and reported as timed out ({budget_help}"
                             "0: no budget, only the per-measurement limits)")
        self.parser = ap
        self.rows: list[list[str]] = []
        self.results: dict[str, float] = {}
        self.mm: float | None = None

    def parse(self, argv=None):
        import torch

        self.args = args = self.parser.parse_args(argv)
        self.cfg = self.sizes["quick" if args.quick else "full"]
        self.write = (not args.quick) if args.write is None else args.write
        if args.threads:
            torch.set_num_threads(args.threads)
        budget = args.wait_quiet if args.wait_quiet is not None else (10 if args.quick else 60)
        self.waiter = QuietWaiter(budget, threshold=CONTENDED_CORES)
        self.t_start = time.perf_counter()
        if args.max_seconds is not None:
            max_s = args.max_seconds
        else:
            max_s = self.default_max_seconds[0 if args.quick else 1] if self.default_max_seconds else None
        self.deadline = self.t_start + max_s if max_s else None
        self.info = machine_info()
        return args

    def log(self, msg: str) -> None:
        import sys
        print(f"[{time.perf_counter() - self.t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def add(self, n, what, value, unit, mon=None, notes="", target: float | None = None):
        """A table row. ``value``: a number (shown with :func:`fmt`, None as "n/a") or a ready
        string; ``target``: a lower bound on ``value`` (the row shows ">= target" and PASS / FAIL),
        or None for a row without a target (target and status cells empty)."""
        shown = value if isinstance(value, str) else fmt(value)
        goal = "" if target is None else f">= {target:,.0f}"
        st = "" if target is None else status(value, target, mon)
        self.rows.append([n, what, f"{shown} {unit}".strip(), goal, st, load_note(mon), notes])

    #: seconds of the run's budget kept for the closing matmul measurement and the output
    RESERVE_S = 4.0

    def limit(self, seconds: float | None) -> float | None:
        """A measurement's time limit: ``seconds``, cut to what is left of the run's budget (at
        least 0.5 s)."""
        if self.deadline is None:
            return seconds
        left = max(0.5, self.deadline - time.perf_counter() - self.RESERVE_S)
        return left if seconds is None else min(seconds, left)

    def quiet(self) -> float:
        """Wait for a quiet machine, within the waiting budget and the run's budget."""
        if self.deadline is None:
            return self.waiter.wait()
        left = self.deadline - time.perf_counter() - 2 * self.RESERVE_S
        if left <= 0:
            return 0.0
        budget = self.waiter.budget
        self.waiter.budget = min(budget, self.waiter.waited + left)
        try:
            return self.waiter.wait()
        finally:
            self.waiter.budget = budget

    def timed(self, fn: Callable[[], object], repeats: int, limit: float | None, warmup: int = 1):
        """Wait for a quiet machine, then :func:`best_time_limited` under ``self.limit(limit)``:
        (best s or None, times, monitor)."""
        self.quiet()
        return best_time_limited(fn, repeats, self.limit(limit), warmup)

    # -- the matmul yardstick (row 1) --------------------------------------------------------------
    def matmul(self, repeats: int) -> tuple[float, CpuMonitor]:
        self.quiet()
        with CpuMonitor() as mon:
            gf = matmul_gflops(2048, repeats=repeats)
        return gf, mon

    def matmul_start(self) -> None:
        """The yardstick before the measurements (``cfg["matmul_repeats"]``)."""
        self.log("matmul throughput")
        self._mm_start = self.matmul(self.cfg["matmul_repeats"])

    def matmul_end(self, notes: str = "") -> float:
        """The yardstick again after the measurements; the better of the two is :attr:`mm` (the
        denominator of :meth:`gflops_note`), reported as row 1 (``notes`` appended to its notes)."""
        import torch

        self.log("matmul throughput again")
        (start, start_mon), (end, end_mon) = self._mm_start, self.matmul(self.cfg["matmul_repeats"])
        self.mm = max(start, end)
        self.results.update(matmul_gflops=self.mm)
        self.add("1", "float32 matmul 2048 x 2048, best of runs", self.mm, "GFLOP/s",
                 mon=start_mon if start >= end else end_mon,
                 notes=f"start {fmt(start)}, end {fmt(end)} GFLOP/s; {torch.get_num_threads()} threads{notes}")
        return self.mm

    def gflops_note(self, sps: float | None, flops_per_seq: float) -> str:
        """"X GFLOP/s = N% of matmul" for ``sps`` sequences/s of ``flops_per_seq`` FLOPs each
        (after :meth:`matmul_end`), "n/a" for a measurement that did not complete."""
        if sps is None:
            return "n/a"
        gf = sps * flops_per_seq / 1e9
        return f"{fmt(gf)} GFLOP/s = {gf / self.mm:.0%} of matmul"

    # -- model and forward pass (rows 2a, 2b, ..., 3a) ---------------------------------------------
    def load_model(self, name: str, weights: str | None, conversion: str, source: str = ""):
        """``seqzoo.load_model(name, weights=weights)``, timed: row 3a ("model load (`seqzoo.load_model`,
        ``conversion``)"). ``source``: said in the log line (e.g. which stand-in weights)."""
        import seqzoo

        self.log(f"loading {name}" + (f" ({source})" if source else ""))
        with CpuMonitor() as mon:
            model = seqzoo.load_model(name, weights=weights)
        self.add("3a", f"model load (`seqzoo.load_model`, {conversion})", mon.wall, "s", mon=mon)
        return model

    def throughput(self, msg: str, fn: Callable[[], object], n: int,
                   repeats: int | None = None) -> tuple[float | None, CpuMonitor]:
        """Log ``msg``, then :meth:`timed` ``fn`` (which handles ``n`` sequences) with
        ``cfg["forward_repeats"]`` (or ``repeats``) under ``cfg["forward_limit"]``: (sequences/s or
        None if it timed out, monitor)."""
        self.log(msg)
        t, _, mon = self.timed(fn, repeats or self.cfg["forward_repeats"], self.cfg.get("forward_limit"))
        return rate(n, t), mon

    def predict_rate(self, model, seqs: Sequence[str], batch_size: int | None = None, msg: str | None = None,
                     **inputs) -> tuple[float | None, CpuMonitor]:
        """:meth:`throughput` of ``model.predict_sequences(seqs, batch_size=..., **inputs)`` (default
        ``--batch-size``): (sequences/s or None, monitor)."""
        bs = batch_size or self.args.batch_size
        msg = msg or f"predict_sequences on {len(seqs)} x {len(seqs[0])} nt, batch {bs}"
        return self.throughput(msg, lambda: model.predict_sequences(seqs, batch_size=bs, **inputs), len(seqs))

    # -- synthetic data ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def workdir(self):
        """The folder for the synthetic dataset and outputs: ``--keep`` (kept) or a temporary one."""
        import tempfile

        if self.args.keep is not None:
            work = Path(self.args.keep)
            work.mkdir(parents=True, exist_ok=True)
            yield work
            return
        with tempfile.TemporaryDirectory(prefix="seqzoo-bench-") as tmp:
            yield Path(tmp)

    def dataset(self, make: Callable[..., dict], work: Path, **kwargs) -> tuple[dict, float]:
        """``make(work / "data", seed=0, **cfg["dataset"], **kwargs)``, timed: (its result, seconds)."""
        self.log(f"generating synthetic dataset in {work}")
        t0 = time.perf_counter()
        ds = make(work / "data", seed=0, **self.cfg["dataset"], **kwargs)
        return ds, time.perf_counter() - t0

    # -- output ------------------------------------------------------------------------------------
    @property
    def has_targets(self) -> bool:
        return any(r[3] for r in self.rows)

    @property
    def targets_met(self) -> bool:
        return not any(r[4].startswith("FAIL") for r in self.rows)

    def finish(self, notes: Sequence[str] = ()) -> int:
        import torch

        args = self.args
        self.rows.sort(key=lambda r: _row_order(r[0]))
        table = markdown_table(self.HEADERS, self.rows)
        total = time.perf_counter() - self.t_start
        mode = "quick" if args.quick else "full"
        cmd = f"python benchmarks/{self.script}" + (" --quick" if args.quick else "") + \
            (f" --threads {args.threads}" if args.threads else "") + \
            (f" --batch-size {args.batch_size}" if args.batch_size != self.default_batch else "")
        targets = ("none set" if not self.has_targets else "all met" if self.targets_met else "NOT all met")
        body = "\n\n".join([
            f"## {self.title} ({mode} run, {timestamp()})",
            f"Command: `{cmd}` (total {total:.0f} s, of which {self.waiter.waited:.0f} s waiting for other "
            f"processes to leave the CPUs; torch {torch.get_num_threads()} threads). Targets: {targets}.",
            "Machine:\n\n" + machine_markdown(self.info),
            table,
            *notes,
            "\"other load\" is the average number of cores used by other processes during the measurement; "
            f"above {CONTENDED_CORES} the row is marked contended and its number is pessimistic.",
        ])
        print(body)
        if self.write:
            path = update_results(self.section, body, args.results)
            self.log(f"updated {path}")
        self.log(f"done in {total:.0f} s")
        return 1 if (args.strict and self.has_targets and not self.targets_met) else 0


# -- end to end (rows 3b-4b) -----------------------------------------------------------------------
def _wall(mon) -> float | None:
    return None if mon.timed_out else mon.wall


def secs(mon, digits: int = 1) -> str:
    """A monitored run's wall seconds for a note, "(timed out)" if it was interrupted."""
    return f"{mon.wall:.{digits}f} s" + (" (timed out)" if mon.timed_out else "")


@dataclass
class EndToEnd:
    """What :func:`measure_end_to_end` measured; a run that timed out has ``timed_out`` set on its
    monitor and None for its counts and rates."""

    cold: CpuMonitor                          # seqzoo score, cold (model load, .fai build included)
    warm: list                                # (monitor, Counted) of each preloaded run
    warm_mon: object                          # the best completed preloaded run (else the most contended)
    counter: Counted | None                   # its counter (None if none completed)
    summary: dict | None                      # the full VCF's summary.json
    sub: CpuMonitor                           # seqzoo score on the first baseline_records records
    sub_alleles: int | None
    base: CpuMonitor                          # the batched baseline on the same records
    base_counter: Counted
    base_alleles: int | None
    diff: tuple[float, int] | None            # (max abs diff, rows) seqzoo vs batched baseline
    pv: CpuMonitor                            # the per-variant baseline on the first per_variant_records
    pv_alleles: int | None

    @property
    def done(self) -> list:
        return [(m, c) for m, c in self.warm if not m.timed_out]

    @property
    def cold_vps(self):
        return rate((self.summary or {}).get("alleles", 0), _wall(self.cold))

    @property
    def warm_vps(self):
        return rate(self.summary["alleles"], _wall(self.warm_mon)) if self.counter and self.summary else None

    @property
    def sub_vps(self):
        return rate(self.sub_alleles or 0, _wall(self.sub))

    @property
    def base_vps(self):
        return rate(self.base_alleles or 0, _wall(self.base))

    @property
    def pv_vps(self):
        return rate(self.pv_alleles or 0, _wall(self.pv))


def measure_end_to_end(run: BenchRun, model, argv_for: Callable, vcf, work: Path, compared: Sequence[str],
                       baseline=None, per_variant=None, baseline_name: str = "naive baseline") -> EndToEnd:
    """The measurements of section 3: ``seqzoo score`` VCF -> TSV cold and preloaded
    (``cfg["e2e_repeats"]`` times), then on the first ``cfg["baseline_records"]`` records seqzoo
    and the ``baseline`` scorer, and the ``per_variant`` baseline on the first
    ``cfg["per_variant_records"]``; the baseline's ``compared`` columns are checked against seqzoo's.

    ``argv_for(vcf, out, batch_size)`` gives the ``seqzoo score`` argv. ``baseline``: the scorer
    class swapped in for ``PairScorer`` (default :func:`naive_pair_scorer`); ``per_variant``:
    (scorer class, batch size) of the one-variant-at-a-time run (default the naive per-variant
    scorer at ``--batch-size``). ``cfg`` limits: ``e2e_limit`` (seconds per full-VCF run),
    ``baseline_limit`` (per baseline-sized run); a run over its limit (a machine loaded by other
    processes) is interrupted and reported as timed out instead of stretching the benchmark.
    """
    cfg, log, bs = run.cfg, run.log, run.args.batch_size
    baseline = baseline or naive_pair_scorer()
    pv_scorer, pv_bs = per_variant or (naive_pair_scorer(per_variant=True), bs)
    e2e_limit, base_limit = cfg.get("e2e_limit"), cfg.get("baseline_limit")
    out = work / "scores.tsv"

    def alleles(mon, path):
        return None if mon.timed_out else read_summary(path)["alleles"]

    log("seqzoo score, cold (model load, .fai build included)")
    run.quiet()
    cold = run_cli(argv_for(vcf, out, bs), limit=run.limit(e2e_limit))
    summary = None if cold.timed_out else read_summary(out)

    warm = []  # (monitor, counter)
    for i in range(cfg["e2e_repeats"]):
        log(f"seqzoo score, model preloaded ({i + 1}/{cfg['e2e_repeats']})")
        counter = Counted(model)
        run.quiet()
        mon = run_cli(argv_for(vcf, out, bs), model=model, counter=counter, limit=run.limit(e2e_limit))
        warm.append((mon, counter))
        if summary is None and not mon.timed_out:
            summary = read_summary(out)
    done = [(m, c) for m, c in warm if not m.timed_out]
    warm_mon, counter = min(done, key=lambda mc: mc[0].wall) if done else (Worst(*[m for m, _ in warm]), None)

    sub_vcf = vcf_subset(vcf, work / "subset.vcf", cfg["baseline_records"])
    sub_out, base_out = work / "subset_seqzoo.tsv", work / "subset_baseline.tsv"
    log(f"seqzoo score on the first {cfg['baseline_records']} records")
    run.quiet()
    sub = run_cli(argv_for(sub_vcf, sub_out, bs), model=model, limit=run.limit(base_limit))
    log(f"{baseline_name} (batch {bs}) on the same records")
    base_counter = Counted(model)
    run.quiet()
    base = run_cli(argv_for(sub_vcf, base_out, bs), model=model, scorer=baseline, counter=base_counter,
                   limit=run.limit(base_limit))
    sub_alleles, base_alleles = alleles(sub, sub_out), alleles(base, base_out)
    diff = max_abs_diff(sub_out, base_out, compared) if sub_alleles and base_alleles else None

    pv_vcf = vcf_subset(vcf, work / "subset_small.vcf", cfg["per_variant_records"])
    pv_out = work / "subset_small_baseline.tsv"
    log(f"{baseline_name}, one variant at a time, on the first {cfg['per_variant_records']} records")
    run.quiet()
    pv = run_cli(argv_for(pv_vcf, pv_out, pv_bs), model=model, scorer=pv_scorer, limit=run.limit(base_limit))

    e2e = EndToEnd(cold, warm, warm_mon, counter, summary, sub, sub_alleles, base, base_counter, base_alleles,
                   diff, pv, alleles(pv, pv_out))
    run.results.update(cold_vps=e2e.cold_vps, warm_vps=e2e.warm_vps, baseline_vps=e2e.base_vps,
                       per_variant_vps=e2e.pv_vps)
    return e2e


def end_to_end(run: BenchRun, model, argv_for: Callable, vcf, work: Path, compared: Sequence[str],
               dataset_note: str, compared_note: str, target: float | None = None) -> EndToEnd:
    """Sections 3 and 4 with the naive baseline (:func:`measure_end_to_end` with its defaults):
    adds rows 3b-4b. ``target``: the variants/s goal of row 3c, or None (no target: its target
    and status cells stay empty)."""
    e = measure_end_to_end(run, model, argv_for, vcf, work, compared)
    add, f, bs = run.add, fmt, run.args.batch_size
    cfg = run.cfg
    counts = "no run completed"
    if e.summary:
        s = e.summary
        counts = (f"{s['records']:,} records, {s['alleles']:,} alleles, {s['rows']:,} rows "
                  f"({s['skipped_alleles']} skipped)")
    add("3b", "end to end `seqzoo score` VCF -> TSV, cold (incl. model load, .fai build)", e.cold_vps,
        "variants/s", mon=e.cold, notes=f"{secs(e.cold)}; {dataset_note}; {counts}")
    notes = f"best of {len(e.done)} completed of {len(e.warm)} ({', '.join(secs(m) for m, _ in e.warm)})"
    c = e.counter
    if c and e.summary:
        notes += (f"; {c.seqs:,} sequences predicted ({c.seqs / e.summary['rows']:.2f} per row) in "
                  f"{c.calls} calls, model {c.seconds / e.warm_mon.wall:.0%} of the time at "
                  f"{f(c.seqs / c.seconds)} seq/s")
    add("3c", "end to end `seqzoo score`, model preloaded", e.warm_vps, "variants/s", mon=e.warm_mon,
        notes=notes, target=target)
    add("3d", f"same, first {cfg['baseline_records']:,} records only", e.sub_vps, "variants/s", mon=e.sub,
        notes=secs(e.sub))
    agree = (f"agrees with seqzoo to max abs diff {e.diff[0]:.1e} over {e.diff[1]:,} rows ({compared_note})"
             if e.diff else "not compared")
    add("3e", f"naive baseline (ref + alt per row, batch {bs}), same records", e.base_vps, "variants/s",
        mon=e.base, notes=f"{secs(e.base)}; {e.base_counter.seqs:,} sequences predicted; {agree}")
    add("3f", f"naive baseline, one variant at a time ([ref, alt] per call), first "
              f"{cfg['per_variant_records']:,} records", e.pv_vps, "variants/s", mon=e.pv, notes=secs(e.pv))
    add("4a", f"ratio seqzoo (3c) / naive batch {bs} (3e)", ratio(e.warm_vps, e.base_vps), "",
        mon=Worst(e.warm_mon, e.base), notes=f"same records (3d / 3e): {ratio(e.sub_vps, e.base_vps)}")
    add("4b", "ratio seqzoo (3c) / naive one at a time (3f)", ratio(e.warm_vps, e.pv_vps), "",
        mon=Worst(e.warm_mon, e.pv))
    return e
