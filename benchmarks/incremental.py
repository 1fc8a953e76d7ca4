"""Incremental alt scoring (``predict_edits``) against full passes, and Framepool's forward pass
against the float32 GEMM peak; prints Markdown tables (nothing is written).

    SEQZOO_WEIGHTS_DIR=/path/to/weights python benchmarks/incremental.py [--quick] [--models framepool,xpresso,hal]

All in one process, torch threads 2 (``--threads``). Every ratio is measured within the run, the
two sides timed back to back (best of ``--repeats``), each row with the load of *other* processes
meanwhile ("other load", cores; above 0.25 the row is contended) and the load average at the start.
Before each measurement the script waits (``--wait-quiet``, 300 s in all) for the CPUs to be free.
``--cpu-time``: one torch thread, times are this process's CPU time: per-core rates and ratios
that hold when other processes keep the machine busy.

* Framepool forward: ``predict_sequences`` of 1,024 random 100- and 300-nt sequences, batch 64,
  against the 2048 x 2048 float32 ``torch.matmul`` (best of runs) measured just before; FLOPs
  counted analytically (3 convolutions k=7, the dense head for 3 shifts: the Keras graph's), and
  "executed" without convolution 1's where the 7-mer lookup replaces it. Three paths: "before",
  the previous string path, kept as the tensor path (one-hot left-padded batches through
  ``forward_shifts``); the literal twin (``model.literal()``: the packed path with convolution 1
  as GEMMs, the full passes of ``incremental=False``); and ``predict_sequences`` as shipped.
* Framepool edits: UTRs of 100, 170, 250, 1,000 nt, R references with k random SNVs each
  (k = 1, 4, 16 and all 3L). "incremental alts/s" = edits / the share of predict_edits' wall time
  spent on the alts (wall time x alt / (reference + alt) of the phase times summed over the worker
  threads); "full alts/s" = predict_sequences of the alt strings; "end
  to end" = full(refs) + full(alts) against the whole predict_edits(refs, edits). A mixed
  row adds 25% indels (1-3 nt insertions and deletions).
* Xpresso: in-silico mutagenesis of one 10,500-nt window (31,500 SNVs, reference pass included),
  and 64 windows with 8 SNVs each; full passes on a sample of the alt windows.
* HAL: 1,000,000 SNVs on 1,000 windows (random stand-in table) against full passes of 100,000.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (benchmarks/common.py)


WAITER = common.QuietWaiter(0)  # replaced in main() by --wait-quiet
CLOCK = time.perf_counter  # time.process_time with --cpu-time


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best float32 n x n torch.matmul GFLOP/s, timed with CLOCK (after --wait-quiet)."""
    WAITER.wait()
    return common.matmul_gflops(n, repeats, clock=CLOCK)


def best(fn, repeats: int):
    """(best seconds, CpuMonitor of the whole measurement) of ``fn()`` after one warm-up run
    (and, first, a wait for the other processes to leave the CPUs: --wait-quiet)."""
    WAITER.wait()
    t, _, mon = common.timed(fn, repeats, clock=CLOCK, warmup=1)
    return t, mon


class PhaseTimer:
    """Sums the wall time spent in functions of ``module`` (the phases of a predict_edits), across
    the worker threads that run them."""

    def __init__(self, module, names):
        self.module, self.inner = module, {name: getattr(module, name) for name in names}
        self.seconds = dict.fromkeys(names, 0.0)

    def __enter__(self):
        for name, inner in self.inner.items():
            def timed(*args, _name=name, _inner=inner, **kwargs):
                t0 = CLOCK()
                try:
                    return _inner(*args, **kwargs)
                finally:
                    self.seconds[_name] += CLOCK() - t0
            setattr(self.module, name, timed)
        return self

    def __exit__(self, *exc):
        for name, inner in self.inner.items():
            setattr(self.module, name, inner)
        return False


def best_alt(fn, module, ref_phase: str, alt_phase: str, repeats: int):
    """(best total seconds, its alt share, CpuMonitor) of ``fn()`` after a warm-up run. The alt
    share is the total wall time times alt / (reference + alt) of the phase times summed over the
    worker threads (references and alts of different chunks may run at the same time)."""
    WAITER.wait()
    fn()
    runs = []
    with common.CpuMonitor() as mon:
        for _ in range(repeats):
            with PhaseTimer(module, (ref_phase, alt_phase)) as timer:
                t0 = CLOCK()
                fn()
                total = CLOCK() - t0
            ref, alt = timer.seconds[ref_phase], timer.seconds[alt_phase]
            runs.append((total, total * alt / max(ref + alt, 1e-12)))
    return min(runs) + (mon,)


def load(*mons) -> str:
    return common.load_note(common.Worst(*mons))


def random_snvs(rng, refs, per_ref):
    """(ref_index, starts, ends, alts): ``per_ref`` SNVs per reference (all 3 L when per_ref is None)."""
    ri, st, al = [], [], []
    for r, ref in enumerate(refs):
        if per_ref is None:
            pos = np.repeat(np.arange(len(ref)), 3)
            alt = [b for p in range(len(ref)) for b in "ACGT" if b != ref[p]]
        else:
            pos = rng.integers(0, len(ref), per_ref)
            alt = ["ACGT".replace(ref[p], "")[rng.integers(3)] for p in pos]
        ri.append(np.full(len(pos), r))
        st.append(pos)
        al += alt
    st = np.concatenate(st)
    return np.concatenate(ri), st, st + 1, al


def with_indels(rng, refs, ri, st, en, al, frac=0.25):
    """Replace a fraction of the edits by 1-3 nt insertions and deletions."""
    st, en, al = st.copy(), en.copy(), list(al)
    for i in np.flatnonzero(rng.random(len(al)) < frac):
        n = int(rng.integers(1, 4))
        if i % 2:
            en[i], al[i] = st[i], "".join(rng.choice(list("ACGT"), n))
        else:
            en[i], al[i] = min(len(refs[ri[i]]), st[i] + n), ""
    return ri, st, en, al


def edited(refs, ri, st, en, al):
    return [refs[r][:s] + a + refs[r][e:] for r, s, e, a in zip(ri, st, en, al)]


def framepool_forward(model, repeats, n_seqs):
    from seqzoo.encoding import one_hot_batch
    rows = []
    ind = torch.tensor([[0.0, 1.0]])
    twin = model.literal()  # predict_sequences with convolution 1 as GEMMs

    def tensor_path(seqs):
        with torch.inference_mode():
            for i in range(0, len(seqs), 64):
                model.forward_shifts(torch.from_numpy(one_hot_batch(seqs[i:i + 64])), ind)

    for length in (100, 300):
        seqs = common.random_seqs(n_seqs, length, seed=length)
        conv1 = 2 * length * 7 * 128 * 128
        flops = 2 * length * (28 * 128 + 2 * 7 * 128 * 128) + 3 * 2 * (768 * 64 + 64)
        peak = matmul_gflops(2048, repeats=5)
        t_new, m_new = best(lambda: model.predict_sequences(seqs, batch_size=64), repeats)
        t_gemm, m_gemm = best(lambda: twin.predict_sequences(seqs, batch_size=64), repeats)
        t_old, m_old = best(lambda: tensor_path(seqs), repeats)
        peak2 = matmul_gflops(2048, repeats=5)
        peak = max(peak, peak2)
        for name, t, mon, executed in (("before (tensor path)", t_old, m_old, flops),
                                       ("predict_sequences, literal twin (every convolution as GEMMs)", t_gemm, m_gemm, flops),
                                       ("predict_sequences (7-mer lookups, convolution 2 split)", t_new, m_new,
                                        flops - 2 * conv1 + common.framepool_executed_flops(model, seqs)[0])):
            gf = n_seqs * flops / t / 1e9
            rows.append([f"{length} nt, batch 64", name, f"{n_seqs / t:,.0f}", f"{gf:.0f}", f"{peak:.0f}",
                         f"{100 * gf / peak:.0f}%", f"{100 * n_seqs * executed / t / 1e9 / peak:.0f}%", load(mon)])
    print(f"\n### Framepool forward pass vs float32 GEMM peak ({torch.get_num_threads()} threads, {CLOCK.__name__})\n")
    print("GFLOP/s and % of peak count the Keras graph's FLOPs per sequence; \"executed\" leaves out what the 7-mer "
          "lookups replace (convolution 1, convolution 2's part from convolution 0's features) and convolution 2's "
          "channels that are 0 throughout.\n")
    print(common.markdown_table(["input", "path", "seq/s", "GFLOP/s", "matmul GFLOP/s", "% of peak",
                                 "executed % of peak", "other load"], rows))


def framepool_edits(model, repeats, quick):
    from seqzoo.nets import framepool_incremental
    rng = np.random.default_rng(0)
    rows = []
    configs = [(100, k) for k in (1, 4, 16, None)] + [(170, k) for k in (1, 4, 16, None)] \
        + [(250, k) for k in (1, 4, 16, None)] + [(1000, k) for k in (1, 4, 16, None)]
    budget = 600 if quick else 2000  # edits per configuration (all-3L: one reference of L nt)
    for length, per_ref in configs + [(170, "mixed")]:
        mixed = per_ref == "mixed"
        k = 16 if mixed else per_ref
        n_refs = 1 if k is None else max(1, budget // k // (2 if length >= 1000 else 1))
        refs = common.random_seqs(n_refs, length, seed=length + n_refs)
        ri, st, en, al = random_snvs(rng, refs, k)
        if mixed:
            ri, st, en, al = with_indels(rng, refs, ri, st, en, al)
        alts = edited(refs, ri, st, en, al)
        sample = slice(0, min(len(alts), 1000))  # full passes on up to 1,000 alts, scaled
        t_edits, alt_inc, m1 = best_alt(lambda: model.predict_edits(refs, ri, st, en, al), framepool_incremental,
                                        "reference_state", "_alt_chunk", repeats)
        t_full_alt, m3 = best(lambda: model.predict_sequences(alts[sample]), repeats)
        t_full_alt *= len(alts) / len(alts[sample])
        t_full_ref, m4 = best(lambda: model.predict_sequences(refs), repeats)
        label = "3L" if k is None else ("16, 25% indels" if mixed else str(k))
        rows.append([f"{length}", label, f"{n_refs}", f"{len(al):,}", f"{len(al) / alt_inc:,.0f}",
                     f"{len(al) / t_full_alt:,.0f}", f"{t_full_alt / alt_inc:.1f}x",
                     f"{(t_full_ref + t_full_alt) / t_edits:.1f}x", load(m1, m3, m4)])
    print("\n### Framepool predict_edits vs full passes (SNVs unless stated)\n")
    print(common.markdown_table(["UTR nt", "edits / window", "windows", "edits", "incremental alts/s",
                                 "full alts/s", "alt speed-up", "end to end (ref + alt)", "other load"], rows))


def xpresso_edits(model, repeats, quick):
    from seqzoo.nets import xpresso_incremental
    rng = np.random.default_rng(1)
    rows = []
    ref = common.random_seqs(1, 10_500, seed=5)
    ri, st, en, al = random_snvs(rng, ref, None if not quick else 2000)
    t_ism, m1 = best(lambda: model.predict_edits(ref, ri, st, en, al), repeats)
    sample = edited(ref, ri[:128], st[:128], en[:128], al[:128])
    t_full, m2 = best(lambda: model.predict_sequences(sample, batch_size=16), repeats)
    full_rate = len(sample) / t_full
    rows.append(["ISM of one window (ref pass included)", f"{len(al):,}", f"{t_ism:.2f} s", f"{len(al) / t_ism:,.0f}",
                 f"{full_rate:,.0f}", f"{len(al) / t_ism / full_rate:.0f}x", load(m1, m2)])
    refs = common.random_seqs(64, 10_500, seed=6)
    ri, st, en, al = random_snvs(rng, refs, 8)
    t_e, t_alt, m1 = best_alt(lambda: model.predict_edits(refs, ri, st, en, al), xpresso_incremental,
                              "reference_state", "alt_predictions", repeats)
    alts = edited(refs, ri, st, en, al)
    t_full, m3 = best(lambda: model.predict_sequences(alts[:128], batch_size=16), repeats)
    full_rate = 128 / t_full
    rows.append(["64 windows x 8 SNVs: alts alone", f"{len(al):,}", f"{t_alt:.3f} s",
                 f"{len(al) / t_alt:,.0f}", f"{full_rate:,.0f}", f"{len(al) / t_alt / full_rate:.0f}x", load(m1, m3)])
    rows.append(["64 windows x 8 SNVs: refs + alts", f"{len(al):,}", f"{t_e:.3f} s", f"{len(al) / t_e:,.0f}",
                 f"{full_rate * 8 / 9:,.0f}", f"{len(al) / t_e / (full_rate * 8 / 9):.0f}x", load(m1, m3)])
    print("\n### Xpresso/human_median predict_edits vs full passes\n")
    print(common.markdown_table(["case", "edits", "time", "edits/s", "full passes, alts/s", "speed-up", "other load"],
                                rows))


def hal_edits(repeats, quick):
    from seqzoo.nets.hal import HAL
    rng = np.random.default_rng(2)
    model = HAL(rng.normal(size=(4096, 8)))
    refs = common.random_seqs(1000, 160, seed=7)
    n = 100_000 if quick else 1_000_000
    ri = rng.integers(0, len(refs), n)
    st = rng.integers(0, 160, n)
    al = [b for b in rng.choice(list("ACGT"), n)]
    rows = []
    for mode in ("kipoi", "averaged"):
        t_e, m1 = best(lambda: model.predict_edits(refs, ri, st, st + 1, al, mode=mode), repeats)
        alts = edited(refs, ri[:100_000], st[:100_000], st[:100_000] + 1, al[:100_000])
        t_f, m2 = best(lambda: model.predict_sequences(alts, batch_size=4096, mode=mode), repeats)
        rows.append([mode, f"{n:,}", f"{n / t_e:,.0f}", f"{len(alts) / t_f:,.0f}",
                     f"{n / t_e / (len(alts) / t_f):.0f}x", load(m1, m2)])
    print("\n### HAL predict_edits vs full passes (random stand-in table)\n")
    print(common.markdown_table(["mode", "SNVs", "incremental edits/s (refs included)", "full passes, seq/s",
                                 "speed-up", "other load"], rows))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (~1 min)")
    ap.add_argument("--models", default="framepool,xpresso,hal")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cpu-time", action="store_true",
                    help="time by this process's CPU time, one torch thread: per-core rates that hold up on a "
                         "machine other processes keep busy (wall-clock ratios do not)")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--wait-quiet", type=float, default=300,
                    help="before each measurement wait until other processes use < 0.25 cores, at most this "
                         "many seconds in all (default 300; 0: never wait)")
    args = ap.parse_args(argv)
    global WAITER
    WAITER = common.QuietWaiter(args.wait_quiet)
    global CLOCK
    if args.cpu_time:
        CLOCK, args.threads = time.process_time, 1
    torch.set_num_threads(args.threads)
    repeats = args.repeats or (2 if args.quick else 3)
    import seqzoo
    from seqzoo.weights import WeightsError
    print(common.machine_markdown(common.machine_info()))
    models = args.models.split(",")
    if "framepool" in models:
        try:
            fp = seqzoo.load_model("Framepool")
        except WeightsError as exc:  # no weights here: say so and go on
            print(f"\nFramepool skipped: {exc}")
        else:
            framepool_forward(fp, repeats, 1024)
            framepool_edits(fp, repeats, args.quick)
    if "xpresso" in models:
        try:
            xp = seqzoo.load_model("Xpresso/human_median")
        except WeightsError as exc:
            print(f"\nXpresso skipped: {exc}")
        else:
            xpresso_edits(xp, repeats, args.quick)
    if "hal" in models:
        hal_edits(repeats, args.quick)
    print(f"\nload average at the end (1/5/15 min): {' / '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"waited {WAITER.waited:.0f} s for other processes to leave the CPUs")


if __name__ == "__main__":
    main()
