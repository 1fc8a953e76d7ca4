"""A run raises the garbage collector's first threshold while it streams and restores the caller's."""
from __future__ import annotations

import gc
import threading

from seqzoo.gc_passes import RUN_THRESHOLD, fewer_gc_passes


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
    try:
        gc.set_threshold(700, 10, 10)
        inside, leave = threading.Barrier(3), threading.Event()

        def run():
            with fewer_gc_passes():
                inside.wait()
                leave.wait()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        inside.wait()
        assert gc.get_threshold()[0] == RUN_THRESHOLD
        leave.set()
        for t in threads:
            t.join()
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*old)


def test_score_vcf_restores_the_threshold(tmp_path):
    import seqzoo
    from seqzoo.synthetic import make_gene_model_dataset

    paths = make_gene_model_dataset(tmp_path, n_genes=2)
    before = gc.get_threshold()
    result = seqzoo.windows_vcf("HAL", paths["fasta"], paths["vcf"], paths["gtf"])
    assert len(result.rows) > 0 and gc.get_threshold() == before
