"""What the seqzoo benchmarks share. They run seqzoo only through its Python API (``seqzoo.load_model``,
``seqzoo.score_vcf``): a baseline is an API option (``reuse_reference=False``, ``chunk_rows=1``) or a
model of its own passed as a ``(name, model)`` pair, never a patched seqzoo.

* :func:`machine_info` / :func:`machine_markdown`: CPU, cores, memory, library versions, threads, load;
* :func:`matmul_gflops`: the machine's float32 matmul throughput, the yardstick for a model's GFLOP/s;
* :class:`CpuMonitor`: wall time and how much CPU *other* processes used meanwhile (on a shared
  2-core machine a timing is only meaningful if that is ~0);
* :class:`Counting`: a model wrapper counting the sequences seqzoo asks it to predict;
* :class:`BenchRun`: a model script's options, rows and ``RESULTS.md`` section, its forward-pass
  measurements, and :meth:`BenchRun.end_to_end` (``score_vcf`` VCF -> TSV against a baseline);
* random sequences, genomes, variants and VCF subsets for the synthetic datasets.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import math
import os
import platform
import re
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Sequence

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"
CONTENDED_CORES = 0.25  # other processes' average core use above which a timing is flagged


# -- machine ---------------------------------------------------------------------------------------
def _cpuinfo() -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    """CPU model name with family/model numbers and vector extensions (VMs often hide the name)."""
    info = _cpuinfo()
    extra = []
    if info.get("cpu family") and info.get("model"):
        extra.append(f"family {info['cpu family']}, model {info['model']}")
    isa = [f for f in ("avx512f", "avx512_bf16", "avx2", "fma") if f in info.get("flags", "").split()]
    if isa:
        extra.append("/".join(isa))
    if "hypervisor" in info.get("flags", "").split():
        extra.append("VM")
    name = info.get("model name") or platform.processor() or "unknown CPU"
    return f"{name} ({'; '.join(extra)})" if extra else name


def memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            return next(int(ln.split()[1]) / 2**20 for ln in fh if ln.startswith("MemTotal:"))
    except (OSError, StopIteration):
        return None


def machine_info() -> dict[str, str]:
    """Ordered description of the machine and the numeric stack, as strings."""
    import numpy as np
    import torch

    mem = memory_gib()
    return {
        "CPU": cpu_model(),
        "logical CPUs (usable)": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))})",
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


def machine_markdown(info: dict[str, str]) -> str:
    return markdown_table(["", ""], [[k, v] for k, v in info.items()], header=False)


# -- timing ----------------------------------------------------------------------------------------
def best_time(fn: Callable[[], object], repeats: int = 3, warmup: int = 1,
              clock: Callable[[], float] = time.perf_counter) -> tuple[float, list[float]]:
    """(best seconds, all seconds) of ``fn()`` over ``repeats`` runs after ``warmup`` runs, timed by
    ``clock`` (wall time; ``time.process_time``: this process's CPU time)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return min(times), times


def timed(fn: Callable[[], object], repeats: int, clock: Callable[[], float] = time.perf_counter,
          warmup: int = 0) -> tuple[float, object, "CpuMonitor"]:
    """(best seconds, the last call's result, CpuMonitor over the timed calls) of ``fn()`` over
    ``repeats`` runs after ``warmup`` runs, timed by ``clock``."""
    for _ in range(warmup):
        fn()
    times, out = [], None
    with CpuMonitor() as mon:
        for _ in range(repeats):
            t0 = clock()
            out = fn()
            times.append(clock() - t0)
    return min(times), out, mon


def matmul_gflops(n: int = 2048, repeats: int = 5, clock: Callable[[], float] = time.perf_counter) -> float:
    """Best float32 ``torch.matmul`` throughput of two n x n matrices in GFLOP/s (2 n^3 flops each),
    with torch's current thread settings, timed by ``clock``."""
    import torch

    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=gen), torch.randn(n, n, generator=gen)
    out = torch.empty(n, n)
    best, _ = best_time(lambda: torch.matmul(a, b, out=out), repeats=repeats, warmup=2, clock=clock)
    return 2.0 * n ** 3 / best / 1e9


def _machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (/proc/stat, idle and iowait excluded)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _live_children_cpu_seconds() -> float:
    """CPU seconds of this process's running children (e.g. seqzoo's TSV helper process, which a
    run keeps; children already waited for are in RUSAGE_CHILDREN instead); 0.0 without /proc."""
    total, me, tick = 0.0, str(os.getpid()), os.sysconf("SC_CLK_TCK")
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # (state, ppid, ...; utime and stime are fields 14 and 15 of the line)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class CpuMonitor:
    """Context manager: ``wall`` seconds, this process's CPU seconds (with its running children's,
    such as seqzoo's TSV helper process) and ``foreign_cores``, the average number of cores other
    processes (and hypervisor steal) used during the block; well above 0 means the timing is
    contended. None where /proc/stat is missing."""

    def __enter__(self):
        self._ru = resource.getrusage(resource.RUSAGE_SELF)
        self._children = _live_children_cpu_seconds()
        try:
            self._busy = _machine_busy_seconds()
        except (OSError, ValueError, IndexError):
            self._busy = None
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._t
        ru = resource.getrusage(resource.RUSAGE_SELF)
        self.self_cpu = ((ru.ru_utime - self._ru.ru_utime) + (ru.ru_stime - self._ru.ru_stime)
                         + _live_children_cpu_seconds() - self._children)
        self.foreign_cores = None
        if self._busy is not None and self.wall > 0:
            self.foreign_cores = max(0.0, (_machine_busy_seconds() - self._busy - self.self_cpu) / self.wall)
        return False


class QuietWaiter:
    """Sleeps until other processes leave the CPUs alone, within a total time budget.

    ``wait()`` samples the machine's busy CPU over ``window`` seconds while this process sleeps and
    returns as soon as a window's average is below ``threshold`` cores, or when the budget (shared
    by all calls; ``waited`` seconds spent so far) is used up. Linux only (no-op elsewhere).
    """

    def __init__(self, budget_s: float, threshold: float = CONTENDED_CORES, window: float = 0.5):
        self.budget, self.threshold, self.window = budget_s, threshold, window
        self.waited = 0.0

    def wait(self) -> float:
        t0 = time.perf_counter()
        while self.budget - self.waited - (time.perf_counter() - t0) > 0:
            try:
                busy0 = _machine_busy_seconds()
            except (OSError, ValueError, IndexError):
                break
            time.sleep(self.window)
            if (_machine_busy_seconds() - busy0) / self.window < self.threshold:
                break
        spent = time.perf_counter() - t0
        self.waited += spent
        return spent


class Worst:
    """The most contended of several monitors (for rows derived from several measurements)."""

    def __init__(self, *mons):
        loads = [m.foreign_cores for m in mons if m is not None and m.foreign_cores is not None]
        self.foreign_cores = max(loads) if loads else None


def load_note(mon) -> str:
    if mon is None or mon.foreign_cores is None:
        return "n/a"
    return f"{mon.foreign_cores:.2f}" + (" (contended)" if mon.foreign_cores > CONTENDED_CORES else "")


# -- output ----------------------------------------------------------------------------------------
def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]], header: bool = True) -> str:
    """A GitHub-flavoured Markdown table (cells str()-ed, '|' escaped); ``header=False`` leaves the
    header row blank (a key/value table)."""
    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    heads = [cell(h) for h in headers] if header else [" " for _ in headers]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows])


def fmt(x: float | None) -> str:
    """A number for a table: thousands separators, about 3 significant digits, no exponent."""
    if x is None:
        return "n/a"
    a = abs(x)
    return f"{x:,.0f}" if a >= 100 else f"{x:.1f}" if a >= 10 else f"{x:.2f}" if a >= 1 else f"{x:.3g}"


def ratio(a: float | None, b: float | None) -> str:
    return "n/a" if a is None or b is None else f"{a / b:.1f}x"


def timestamp() -> str:
    return _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")


_PREAMBLE = """# seqzoo benchmark results

Written by the scripts in this folder (`python benchmarks/run_all.py`, or one `python benchmarks/<model>.py`);
each section is replaced by its script's last full run. See `benchmarks/README.md` for what is measured.
"""


def update_results(section: str, body: str, path: str | os.PathLike = RESULTS_PATH) -> Path:
    """Replace (or append) the section between ``<!-- BEGIN section -->`` and ``<!-- END section -->``
    of the results file with ``body``."""
    path = Path(path)
    begin, end = f"<!-- BEGIN {section} -->", f"<!-- END {section} -->"
    block = f"{begin}\n{body.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else _PREAMBLE
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end) + r"\n?", re.S)
    text = pattern.sub(lambda _: block, text, count=1) if pattern.search(text) else text.rstrip() + "\n\n" + block
    path.write_text(text)
    return path


def max_table_diff(a, b) -> float:
    """Max |a - b| over the float columns of two pandas tables of the same rows (NaN and inf in the
    same cells of both, else AssertionError)."""
    assert len(a) == len(b), (len(a), len(b))
    cols = [c for c in a.columns if a[c].dtype.kind == "f"]
    if not cols:
        return 0.0
    import numpy as np

    x, y = a[cols].to_numpy(float), b[cols].to_numpy(float)
    both = np.isfinite(x) & np.isfinite(y)
    assert np.array_equal(np.isfinite(x), np.isfinite(y))
    return float(np.abs(x[both] - y[both]).max(initial=0.0))


def table_section(title: str, how: str, head: Sequence[str], rows: Sequence[Sequence[object]],
                  machine: dict[str, str] | None = None) -> str:
    """A RESULTS.md section: ``## title (timestamp)``, the line ``how`` (command, clock, load), the
    machine description (``machine``: :func:`machine_info` taken when the run started, so that its
    "load average at start" is; default: now) and the table."""
    return "\n".join([f"## {title} ({timestamp()})", "", how, "", machine_markdown(machine or machine_info()), "",
                      markdown_table(head, rows)])


# -- synthetic data --------------------------------------------------------------------------------
def random_seqs(n: int, length: int, seed: int = 0) -> list[str]:
    """``n`` uniformly random ACGT strings of ``length`` nt."""
    import numpy as np

    codes = np.frombuffer(b"ACGT", dtype=np.uint8)[np.random.default_rng(seed).integers(0, 4, size=(n, length))]
    return [row.tobytes().decode("ascii") for row in codes]


def framepool_executed_flops(model, seqs: Sequence[str]) -> tuple[float, int]:
    """(convolution FLOPs per sequence that ``predict_sequences`` executes, live channels K) for
    Framepool on ``seqs`` (all of one length L): convolutions 0 and 1 and the h0 part of
    convolution 2 come from tables (no FLOPs counted), convolution 2's a part is GEMMs over the K
    channels of a = relu(z1) m that are not 0 somewhere in ``seqs`` (each batch has at most those)."""
    import torch
    from seqzoo.nets.framepool import pack_codes
    from seqzoo.nets.framepool_conv1 import Conv2Weights, live_channels
    codes, _ = pack_codes(list(seqs))
    with torch.inference_mode():
        k = int(live_channels(model.trunk_packed(codes, keep_pre=True, lookup=Conv2Weights(model))["a"]).numel())
    return 2.0 * len(seqs[0]) * 7 * k * 128, k


def random_genome(n_contigs: int, length: int, seed: int = 0) -> dict[str, str]:
    """Contigs ``1``, ``2``, ... of uniformly random ACGT."""
    return {str(i + 1): s for i, s in enumerate(random_seqs(n_contigs, length, seed))}


def sample_variants(rng, seq: str, chrom: str, start: int, end: int, n: int, max_indel: int = 3) -> list[tuple]:
    """``n`` VCF records (chrom, 1-based pos, id, ref, alt) whose REF starts in the 0-based window
    [start, end) of ``seq``: 1/2 SNVs, 1/4 insertions, 1/4 deletions of 1..max_indel nt."""
    out = []
    for _ in range(n):
        p0 = int(rng.integers(start, end))
        ref_base, kind = seq[p0], rng.random()
        if kind < 0.5:
            out.append((chrom, p0 + 1, None, ref_base, "ACGT"[("ACGT".index(ref_base) + int(rng.integers(1, 4))) % 4]))
        elif kind < 0.75:
            ins = "".join("ACGT"[i] for i in rng.integers(0, 4, size=int(rng.integers(1, max_indel + 1))))
            out.append((chrom, p0 + 1, None, ref_base, ref_base + ins))
        else:
            k = int(rng.integers(1, max_indel + 1))
            out.append((chrom, p0 + 1, None, seq[p0:p0 + k + 1], ref_base))
    return out


def variants_in_windows(rng, contigs: dict[str, str], windows: Iterable[tuple[str, int, int]], n: int) -> list[tuple]:
    """:func:`sample_variants`: ``n`` records in each (chrom, start, end) window of ``contigs``."""
    return [r for chrom, start, end in windows for r in sample_variants(rng, contigs[chrom], chrom, start, end, n)]


def write_dataset(out_dir: Path, contigs: dict[str, str], records: list[tuple],
                  gtf_lines: Sequence[str] | None = None) -> dict[str, Path]:
    """``genome.fa``, ``variants.vcf`` (records sorted) and, given ``gtf_lines``, ``annotation.gtf``
    in ``out_dir``: their paths under ``fasta``, ``vcf``, ``gtf``."""
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
    with open(src) as fin, open(dst, "w") as fout:
        for line in fin:
            if not line.startswith("#"):
                if n_records == 0:
                    break
                n_records -= 1
            fout.write(line)
    return Path(dst)


def max_abs_diff(a_tsv, b_tsv, columns: Sequence[str]) -> tuple[float, int]:
    """Max |a - b| over ``columns`` of two score TSVs with the same rows in the same order (NaN ==
    NaN, inf == the same inf): (difference, rows)."""
    worst, n = 0.0, 0
    with open(a_tsv) as fa, open(b_tsv) as fb:
        for ra, rb in zip(csv.DictReader(fa, delimiter="\t"), csv.DictReader(fb, delimiter="\t"), strict=True):
            if (ra["variant_id"], ra["feature_id"]) != (rb["variant_id"], rb["feature_id"]):
                raise AssertionError(f"row {n}: {ra['variant_id']}/{ra['feature_id']} vs "
                                     f"{rb['variant_id']}/{rb['feature_id']}")
            for c in columns:
                x, y = float(ra[c]), float(rb[c])
                if not (x == y or math.isnan(x) and math.isnan(y)):
                    worst = max(worst, abs(x - y))
            n += 1
    return worst, n


class Counting:
    """A model for ``seqzoo.score_vcf((name, Counting(model)), ...)`` that counts what seqzoo asks of
    it: sequences predicted, ``predict_sequences`` calls and the seconds they took. Everything else
    is the wrapped model's."""

    def __init__(self, model):
        self.model, self.seqs, self.calls, self.seconds = model, 0, 0, 0.0
        self.edits = 0  # alts computed incrementally (predict_edits); their references count in seqs

    def predict_sequences(self, seqs, *args, **kwargs):
        t0 = time.perf_counter()
        out = self.model.predict_sequences(seqs, *args, **kwargs)
        self.seconds += time.perf_counter() - t0
        self.seqs += len(seqs)
        self.calls += 1
        return out

    def __getattr__(self, name):
        if name == "predict_edits" and hasattr(self.model, "predict_edits"):
            return self._predict_edits
        return getattr(self.model, name)

    def _predict_edits(self, ref_seqs, ref_index, starts, ends, alts, *args, **kwargs):
        t0 = time.perf_counter()
        out = self.model.predict_edits(ref_seqs, ref_index, starts, ends, alts, *args, **kwargs)
        self.seconds += time.perf_counter() - t0
        self.seqs += len(ref_seqs)
        self.edits += len(alts)
        self.calls += 1
        return out

    def rate(self) -> str:
        """Model throughput: sequences (and incremental alts) per second of model time."""
        if not self.seconds:
            return "n/a"
        if self.edits:
            return f"{fmt((self.seqs + self.edits) / self.seconds)} references and alts/s"
        return f"{fmt(self.seqs / self.seconds)} seq/s"

    def note(self, rows: int, wall: float) -> str:
        edits = f" + {self.edits:,} alts computed incrementally" if self.edits else ""
        return (f"{self.seqs:,} sequences predicted ({self.seqs / max(rows, 1):.2f} per row){edits} in {self.calls:,} "
                f"calls, model {self.seconds / wall:.0%} of the time")


# -- a model script --------------------------------------------------------------------------------
class BenchRun:
    """What every model script shares: options, logging, the matmul yardstick (row 1), the model load
    (3a), forward-pass measurements, the end-to-end rows (3b-4b), the table and the RESULTS.md section.

    ``BenchRun(title, section, description, default_batch, script, full=FULL, quick=QUICK)``;
    :meth:`parse` reads the options (``cfg`` is ``quick`` with ``--quick``, else ``full``); rows may be
    added in any order (listed by label 1, 2, 2a, ..., 4b); :meth:`finish` prints the section and, on a
    full run, writes it.
    """

    HEADERS = ["#", "measurement", "result", "target", "status", "other load (cores)", "notes"]

    def __init__(self, title: str, section: str, description: str, default_batch: int, script: str,
                 full: dict, quick: dict):
        self.title, self.section, self.script, self.default_batch = title, section, script, default_batch
        self.sizes = {"full": full, "quick": quick}
        ap = argparse.ArgumentParser(description=description)
        ap.add_argument("--quick", action="store_true", help="smaller sizes; does not update RESULTS.md")
        ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
        ap.add_argument("--batch-size", type=int, default=default_batch, help=f"default {default_batch}")
        ap.add_argument("--weights", default=None, help="weights file (default: resolved by seqzoo)")
        ap.add_argument("--results", default=str(RESULTS_PATH), help="results Markdown file to update")
        ap.add_argument("--write", dest="write", action="store_true", default=None,
                        help="update the results file (default: yes for full runs, no with --quick)")
        ap.add_argument("--no-write", dest="write", action="store_false")
        ap.add_argument("--keep", default=None, help="write the synthetic dataset and outputs here (kept)")
        ap.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
        self.parser = ap
        self.rows: list[list[str]] = []
        self.mm: float | None = None

    def parse(self, argv=None):
        import torch

        self.args = args = self.parser.parse_args(argv)
        self.cfg = self.sizes["quick" if args.quick else "full"]
        self.write = (not args.quick) if args.write is None else args.write
        if args.threads:
            torch.set_num_threads(args.threads)
        self.t_start = time.perf_counter()
        self.info = machine_info()
        return args

    def log(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def add(self, n, what, value, unit, mon=None, notes="", target: float | None = None):
        """A row: ``value`` a number (None: "n/a") or a ready string; ``target`` a lower bound (the
        row shows ">= target" and PASS / FAIL) or None."""
        shown = value if isinstance(value, str) else fmt(value)
        status = ""
        if target is not None:
            contended = mon is not None and (mon.foreign_cores or 0) > CONTENDED_CORES
            status = "PASS" if value is not None and value >= target else \
                "FAIL (contended, rerun)" if contended else "FAIL"
        self.rows.append([n, what, f"{shown} {unit}".strip(), "" if target is None else f">= {target:,.0f}",
                          status, load_note(mon), notes])

    # -- row 1: the matmul yardstick, at the start and the end ---------------------------------------
    def matmul(self) -> tuple[float, CpuMonitor]:
        with CpuMonitor() as mon:
            gf = matmul_gflops(2048, repeats=self.cfg["matmul_repeats"])
        return gf, mon

    def matmul_start(self) -> None:
        self.log("matmul throughput")
        self._mm_start = self.matmul()

    def matmul_end(self, notes: str = "") -> float:
        """The yardstick again; the better of the two is :attr:`mm` (the denominator of :meth:`gflops_note`)."""
        import torch

        self.log("matmul throughput again")
        (start, start_mon), (end, end_mon) = self._mm_start, self.matmul()
        self.mm = max(start, end)
        self.add("1", "float32 matmul 2048 x 2048, best of runs", self.mm, "GFLOP/s",
                 mon=start_mon if start >= end else end_mon,
                 notes=f"start {fmt(start)}, end {fmt(end)} GFLOP/s; torch threads: {torch.get_num_threads()}{notes}")
        return self.mm

    def gflops_note(self, sps: float | None, flops_per_seq: float) -> str:
        """"X GFLOP/s = N% of matmul" for ``sps`` sequences/s of ``flops_per_seq`` FLOPs each."""
        if sps is None:
            return "n/a"
        gf = sps * flops_per_seq / 1e9
        return f"{fmt(gf)} GFLOP/s = {gf / self.mm:.0%} of matmul"

    # -- rows 2a, 2b, 3a: model load and forward pass -------------------------------------------------
    def load_model(self, name: str, weights: str | None, conversion: str):
        """``seqzoo.load_model(name, weights=weights)``, timed: row 3a."""
        import seqzoo

        self.log(f"loading {name}")
        with CpuMonitor() as mon:
            model = seqzoo.load_model(name, weights=weights)
        self.add("3a", f"model load (`seqzoo.load_model`, {conversion})", mon.wall, "s", mon=mon)
        return model

    def throughput(self, msg: str, fn: Callable[[], object], n: int, repeats: int | None = None):
        """``fn`` (handling ``n`` sequences) best of ``cfg["forward_repeats"]``: (sequences/s, monitor)."""
        self.log(msg)
        with CpuMonitor() as mon:
            best, _ = best_time(fn, repeats or self.cfg["forward_repeats"])
        return n / best, mon

    def predict_rate(self, model, seqs: Sequence[str], batch_size: int | None = None, **inputs):
        """:meth:`throughput` of ``model.predict_sequences(seqs, batch_size=..., **inputs)``."""
        bs = batch_size or self.args.batch_size
        return self.throughput(f"predict_sequences on {len(seqs)} x {len(seqs[0])} nt, batch {bs}",
                               lambda: model.predict_sequences(seqs, batch_size=bs, **inputs), len(seqs))

    # -- data ----------------------------------------------------------------------------------------
    @contextmanager
    def workdir(self):
        """The folder for the synthetic dataset and outputs: ``--keep`` (kept) or a temporary one."""
        if self.args.keep is not None:
            work = Path(self.args.keep)
            work.mkdir(parents=True, exist_ok=True)
            yield work
            return
        with tempfile.TemporaryDirectory(prefix="seqzoo-bench-") as tmp:
            yield Path(tmp)

    def dataset(self, make: Callable[..., dict], work: Path, **kwargs):
        """``make(work / "data", seed=0, **cfg["dataset"], **kwargs)``, timed: (its result, seconds)."""
        self.log(f"generating synthetic dataset in {work}")
        t0 = time.perf_counter()
        ds = make(work / "data", seed=0, **self.cfg["dataset"], **kwargs)
        return ds, time.perf_counter() - t0

    # -- rows 3b-4b: end to end ----------------------------------------------------------------------
    def score(self, models, paths: dict, vcf, out: Path | None, **options) -> tuple[dict, CpuMonitor]:
        """``seqzoo.score_vcf(models, FASTA, vcf, GTF, out=out, batch_size=--batch-size, **options)``
        timed (``out=None``: the rows as DataFrames, nothing written): (the run's summary, monitor)."""
        import seqzoo

        options.setdefault("batch_size", self.args.batch_size)
        with CpuMonitor() as mon:
            result = seqzoo.score_vcf(models, paths["fasta"], vcf, paths.get("gtf"), out=out, **options)
        return result.summary, mon

    def end_to_end(self, name: str, model, paths: dict, work: Path, compared: Sequence[str], dataset_note: str,
                   target: float | None = None, baseline=None, baseline_label: str = "", weights: str | None = None,
                   **options) -> None:
        """Rows 3b-4b: ``seqzoo.score_vcf`` VCF -> TSV cold (``name``: the model loaded by seqzoo, the
        FASTA index built) and with ``model`` preloaded (best of ``cfg["e2e_repeats"]``); on the first
        ``cfg["baseline_records"]`` records seqzoo and the baseline, ``score_vcf`` with
        ``reuse_reference=False`` (no reference predictions kept from one slice of up to 1,024 rows
        to the next; within a slice identical windows are still predicted once) on ``baseline`` (a
        model of its own, default ``model``), its ``compared`` columns checked against seqzoo's; on
        the first ``cfg["per_variant_records"]`` the baseline one variant at a time
        (``chunk_rows=1``: a chunk, so a ref and an alt prediction, per VCF record; rows kept in
        memory, nothing written). ``weights``: the cold run's weights file (default
        ``--weights``); ``options``: more ``score_vcf`` keywords (e.g. ``halflife_file``)."""
        cfg, bs = self.cfg, self.args.batch_size
        label = baseline_label or f"baseline `reuse_reference=False` (batch {bs})"
        out = work / "scores.tsv"
        self.log("score_vcf, cold (model load, .fai build included)")
        summary, cold = self.score(name, paths, paths["vcf"], out, weights=weights or self.args.weights, **options)
        warm = []  # (monitor, counter) of each preloaded run
        for i in range(cfg["e2e_repeats"]):
            self.log(f"score_vcf, model preloaded ({i + 1}/{cfg['e2e_repeats']})")
            counter = Counting(model)
            _, mon = self.score((name, counter), paths, paths["vcf"], out, **options)
            warm.append((mon, counter))
        warm_mon, counter = min(warm, key=lambda mc: mc[0].wall)
        s = summary
        warm_vps = s["alleles"] / warm_mon.wall

        sub_vcf = vcf_subset(paths["vcf"], work / "subset.vcf", cfg["baseline_records"])
        self.log(f"score_vcf on the first {cfg['baseline_records']} records, then the baseline")
        sub, sub_mon = self.score((name, model), paths, sub_vcf, work / "subset_seqzoo.tsv", **options)
        base_model = Counting(baseline or model)
        base, base_mon = self.score((name, base_model), paths, sub_vcf, work / "subset_baseline.tsv",
                                    reuse_reference=False, **options)
        diff = max_abs_diff(work / "subset_seqzoo.tsv", work / "subset_baseline.tsv", compared)
        pv_vcf = vcf_subset(paths["vcf"], work / "subset_small.vcf", cfg["per_variant_records"])
        self.log(f"baseline one variant at a time on the first {cfg['per_variant_records']} records")
        pv, pv_mon = self.score((name, baseline or model), paths, pv_vcf, None, reuse_reference=False, chunk_rows=1,
                                **options)  # in memory: a file's per-chunk fsync would dominate
        sub_vps, base_vps, pv_vps = (sub["alleles"] / sub_mon.wall, base["alleles"] / base_mon.wall,
                                     pv["alleles"] / pv_mon.wall)

        add = self.add
        add("3b", "end to end `score_vcf` VCF -> TSV, cold (incl. model load, .fai build)", s["alleles"] / cold.wall,
            "variants/s", cold, f"{cold.wall:.1f} s; {dataset_note}; {s['records']:,} records, {s['alleles']:,} "
                                f"alleles, {s['rows']:,} rows ({s['skipped_alleles']} skipped)")
        add("3c", "end to end `score_vcf`, model preloaded", warm_vps, "variants/s", warm_mon,
            f"best of {len(warm)} ({', '.join(f'{m.wall:.1f}' for m, _ in warm)} s); "
            f"{counter.note(s['rows'], warm_mon.wall)} at {counter.rate()}", target=target)
        add("3d", f"same, first {cfg['baseline_records']:,} records only", sub_vps, "variants/s", sub_mon,
            f"{sub_mon.wall:.2f} s")
        add("3e", f"{label}, same records", base_vps, "variants/s", base_mon,
            f"{base_mon.wall:.2f} s; {base_model.note(base['rows'], base_mon.wall)}; agrees with seqzoo to max abs "
            f"diff {diff[0]:.1e} over {diff[1]:,} rows ({', '.join(compared)})")
        add("3f", f"same baseline one variant at a time (`chunk_rows=1`), first {cfg['per_variant_records']:,} records",
            pv_vps, "variants/s", pv_mon, f"{pv_mon.wall:.2f} s; rows kept in memory (`out=None`), nothing written")
        add("4a", "ratio seqzoo (3c) / baseline (3e)", ratio(warm_vps, base_vps), "", Worst(warm_mon, base_mon),
            f"same records (3d / 3e): {ratio(sub_vps, base_vps)}")
        add("4b", "ratio seqzoo (3c) / baseline one variant at a time (3f)", ratio(warm_vps, pv_vps), "",
            Worst(warm_mon, pv_mon))

    # -- output --------------------------------------------------------------------------------------
    def finish(self, notes: Sequence[str] = ()) -> int:
        import torch

        args = self.args
        self.rows.sort(key=lambda r: (int(re.match(r"\d+", r[0]).group()), r[0]))
        total = time.perf_counter() - self.t_start
        cmd = f"python benchmarks/{self.script}" + (" --quick" if args.quick else "") + \
            (f" --threads {args.threads}" if args.threads else "") + \
            (f" --batch-size {args.batch_size}" if args.batch_size != self.default_batch else "")
        targets = [r for r in self.rows if r[3]]
        failed = [r for r in targets if r[4].startswith("FAIL")]
        body = "\n\n".join([
            f"## {self.title} ({'quick' if args.quick else 'full'} run, {timestamp()})",
            f"Command: `{cmd}` (total {total:.0f} s; torch {torch.get_num_threads()} threads). Targets: "
            f"{'none set' if not targets else 'NOT all met' if failed else 'all met'}.",
            "Machine:\n\n" + machine_markdown(self.info),
            markdown_table(self.HEADERS, self.rows),
            *notes,
            "\"other load\" is the average number of cores used by other processes during the measurement; "
            f"above {CONTENDED_CORES} the row is marked contended and its number is pessimistic. Baselines run "
            "through the same `seqzoo.score_vcf` (window extraction, TSV writing); see benchmarks/README.md.",
        ])
        print(body)
        if self.write:
            self.log(f"updated {update_results(self.section, body, args.results)}")
        return 1 if args.strict and failed else 0

