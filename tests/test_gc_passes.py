"""A run raises the garbage collector's first threshold while it streams, turns automatic collection
off while it builds its windows, and restores the caller's settings."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest

from seqzoo.gc_passes import RUN_THRESHOLD, fewer_gc_passes, paused_gc


def test_threshold_raised_during_a_run_and_restored(monkeypatch):
    old = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        with fewer_gc_passes():
            assert gc.get_threshold() == (RUN_THRESHOLD, 10, 10)
            with fewer_gc_passes():  # nested (or a second run in another thread)
                assert gc.get_threshold()[0] == RUN_THRESHOLD
            assert gc.get_threshold()[0] == RUN_THRESHOLD  # the outer run still holds it
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(0)  # collection turned off by the caller: left off
        with fewer_gc_passes():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*old)


def test_overlapping_runs_in_threads_restore_the_setting():
    old = gc.get_threshold()
    inside, leave = threading.Barrier(3, timeout=60), threading.Event()
    try:
        gc.set_threshold(700, 10, 10)

        def run():
            with fewer_gc_passes():
                inside.wait()
                leave.wait(60)

        threads = [threading.Thread(target=run, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        inside.wait()
        assert gc.get_threshold()[0] == RUN_THRESHOLD
        leave.set()
        for t in threads:
            t.join()
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        leave.set()  # (a failed assertion must not leave the threads waiting: pytest would not exit)
        gc.set_threshold(*old)


def test_score_vcf_restores_the_threshold(tmp_path):
    import seqzoo
    from seqzoo.synthetic import make_gene_model_dataset

    paths = make_gene_model_dataset(tmp_path, n_genes=2)
    before = gc.get_threshold()
    result = seqzoo.windows_vcf("HAL", paths["fasta"], paths["vcf"], paths["gtf"])
    assert len(result.rows) > 0 and gc.get_threshold() == before


def test_collection_paused_while_windows_are_built_and_restored(monkeypatch):
    was = gc.isenabled()
    try:
        gc.enable()
        with paused_gc():
            assert not gc.isenabled()
            with paused_gc():  # nested (or another run's set-up in a thread)
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer block still holds it
        assert gc.isenabled()
        gc.disable()  # turned off by the caller: left off
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_windows_are_built_with_collection_paused(tmp_path, monkeypatch):
    import seqzoo
    import seqzoo.windowing as windowing
    from seqzoo.synthetic import make_gene_model_dataset

    paths = make_gene_model_dataset(tmp_path, n_genes=2)
    seen = []
    build_rules, fast_index = windowing.build_rules, windowing.FastIndex.__init__

    def spy_rules(*a, **k):
        seen.append(("rules", gc.isenabled()))
        return build_rules(*a, **k)

    def spy_index(self, *a, **k):
        seen.append(("index", gc.isenabled()))
        return fast_index(self, *a, **k)

    monkeypatch.setattr(windowing, "build_rules", spy_rules)
    monkeypatch.setattr(windowing.FastIndex, "__init__", spy_index)
    assert gc.isenabled()
    result = seqzoo.windows_vcf("HAL", paths["fasta"], paths["vcf"], paths["gtf"])
    assert len(result.rows) > 0 and gc.isenabled()
    assert seen == [("rules", False), ("index", False)]


def test_run_scope_freezes_what_the_builds_left_and_unfreezes_at_its_end():
    from seqzoo.gc_passes import run_scope

    assert gc.get_freeze_count() == 0
    was = gc.isenabled()
    try:
        gc.enable()
        with paused_gc():  # outside a run scope: nobody would be sure to unfreeze, so nothing is frozen
            built = [[i] for i in range(1000)]
        assert gc.get_freeze_count() == 0
        with run_scope():
            with paused_gc():
                built = [[i] for i in range(1000)]  # long-lived objects of a window build
            frozen = gc.get_freeze_count()
            assert frozen >= len(built) and gc.isenabled()
            with paused_gc():  # a second build of the same run (its vectorised index) is frozen too
                more = [[i] for i in range(1000)]
            assert gc.get_freeze_count() >= frozen + len(more)
        assert gc.get_freeze_count() == 0  # the run ended: unfrozen
        gc.disable()  # collection turned off by the caller: nothing frozen, collection left off
        with run_scope():
            with paused_gc():
                built = [[i] for i in range(1000)]
            assert gc.get_freeze_count() == 0 and not gc.isenabled()
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()


def test_overlapping_runs_freeze_only_alone_and_the_freeze_ends_with_its_run():
    """Runs in threads: a run freezes only while no other is open, and its own end unfreezes, so
    that a chain of overlapping runs never keeps objects frozen for good."""
    from seqzoo.gc_passes import run_scope

    assert gc.get_freeze_count() == 0
    try:
        first, second = run_scope(), run_scope()
        first.__enter__()
        with paused_gc():
            built = [[i] for i in range(1000)]
        frozen = gc.get_freeze_count()
        assert frozen >= len(built)
        second.__enter__()  # another run starts meanwhile: its build is not frozen
        with paused_gc():
            more = [[i] for i in range(1000)]
        assert gc.get_freeze_count() == frozen
        first.__exit__(None, None, None)  # the run that froze ends while the other goes on: unfrozen
        assert gc.get_freeze_count() == 0
        with paused_gc():  # the second run, alone now, freezes its next build; its end unfreezes
            later = [[i] for i in range(1000)]
        assert gc.get_freeze_count() >= len(built) + len(more) + len(later)
        second.__exit__(None, None, None)
        assert gc.get_freeze_count() == 0
        third = run_scope()  # overlapping runs that started together: neither freezes
        third.__enter__()
        fourth = run_scope()
        fourth.__enter__()
        with paused_gc():
            built = [[i] for i in range(1000)]
        assert gc.get_freeze_count() == 0
        fourth.__exit__(None, None, None)
        third.__exit__(None, None, None)
    finally:  # (scopes left open by a failed assertion would mislead the tests after this one)
        import seqzoo.gc_passes as gc_passes

        gc_passes._scopes.clear()
        gc_passes._owner = None
        gc.unfreeze()


def test_objects_the_caller_froze_stay_frozen():
    from seqzoo.gc_passes import run_scope

    assert gc.get_freeze_count() == 0
    try:
        gc.freeze()  # e.g. a server that freezes its state before forking workers
        theirs = gc.get_freeze_count()
        assert theirs > 0
        with run_scope():
            with paused_gc():
                built = [[i] for i in range(1000)]
            assert gc.get_freeze_count() == theirs  # not frozen by seqzoo (it would unfreeze theirs)
        assert gc.get_freeze_count() == theirs
    finally:
        gc.unfreeze()


def test_score_vcf_and_ism_freeze_their_windows_while_they_run(tmp_path, monkeypatch):
    import seqzoo
    import seqzoo.windowing as windowing
    from seqzoo.synthetic import make_gene_model_dataset

    paths = make_gene_model_dataset(tmp_path, n_genes=2)
    seen = []
    fast_index = windowing.FastIndex.__init__

    def spy_index(self, *a, **k):  # built when the first records stream, after the rules' pause
        seen.append(gc.get_freeze_count())
        return fast_index(self, *a, **k)

    monkeypatch.setattr(windowing.FastIndex, "__init__", spy_index)
    assert gc.get_freeze_count() == 0
    seqzoo.windows_vcf("HAL", paths["fasta"], paths["vcf"], paths["gtf"], out=tmp_path / "w.tsv")
    assert len(seen) == 1 and seen[0] > 0 and gc.get_freeze_count() == 0
    chunks = seqzoo.iter_scores("HAL", paths["fasta"], paths["vcf"], paths["gtf"], score=False)
    next(chunks)
    assert len(seen) == 2 and seen[1] == 0  # a generator (maybe never finished) freezes nothing
    chunks.close()
    assert gc.get_freeze_count() == 0
    frozen_at_ism = []

    def stop_at_the_window(*a, **k):  # seqzoo.ism has built its windows by then
        frozen_at_ism.append(gc.get_freeze_count())
        raise RuntimeError("stop here")

    monkeypatch.setattr(seqzoo.mutagenesis, "_window", stop_at_the_window)
    table = tmp_path / "hal.npz"
    np.savez(table, weights=np.zeros((4096, 8)))
    with pytest.raises(RuntimeError, match="stop here"):
        seqzoo.ism("HAL", paths["fasta"], paths["gtf"], feature="x", weights=table)
    assert frozen_at_ism and frozen_at_ism[0] > 0 and gc.get_freeze_count() == 0
