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

import datetime as _dt
import os
import platform
import re
import resource
import shutil
import subprocess
import time
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
