"""Fewer passes of Python's cyclic garbage collector while a run streams records, and none while it
builds its windows.

A run allocates millions of short-lived objects (fields of VCF records, rows, strings) and creates
almost no reference cycles, but the collector's default first threshold (700 allocations) makes it
walk the young objects again and again: a third of the time of a whole-genome VCF went there.
:func:`fewer_gc_passes` raises that threshold for the duration of a run (reference counting still
frees everything at once; cycles are collected, only less often) and restores the caller's
setting afterwards, also when runs overlap in threads (the last one to finish restores it).

Building the windows of a GENCODE-size annotation keeps ~10^6 objects alive (transcripts, exons,
windows), and every collection walks all of them again: with the default thresholds about a
quarter of HAL's start-up went there (``benchmarks/startup.py``). :func:`paused_gc` turns automatic
collection off while the windows are built (:class:`seqzoo.windowing.VariantWindows` and its
vectorised index) and back on afterwards, as it was (reference counting still frees what the
build drops at once; a cycle made meanwhile waits for the next collection after it).

Turned back on, the collector would still walk those objects: once right away (the first collection
after the pause takes every object made during it: ~2 s of HAL's start-up on a GENCODE-size
annotation) and again in every full collection while the run streams. So a run that is the only
one going on (:func:`run_scope`, around ``seqzoo.score_vcf``, ``windows_vcf`` and ``ism``: calls
that always return) freezes every object tracked when one of its pauses ends (``gc.freeze()``:
moved to the permanent generation, which collections skip; reference counting still frees them),
and unfreezes them when it ends (``gc.unfreeze()``: back in the oldest generation, so a cycle among
them is collected after the run as before). The freeze lasts exactly as long as the run that made
it. Nothing is frozen:

* while another run scope is open (overlapping runs in threads: the one that froze unfreezes at its
  own end, the others leave the collector as it is);
* where the caller has frozen objects itself (``gc.get_freeze_count()`` not 0: its ``gc.unfreeze``
  is left to it) or turned automatic collection off;
* by a build outside any run scope, e.g. ``seqzoo.iter_scores`` (a generator, which may never be
  finished or closed) or a Kipoi dataloader that keeps its windows: nobody would be sure to unfreeze
  them. (Such a build that ends while one run is going on alone in another thread is frozen with
  that run's objects, and unfrozen at that run's end.)

``gc.unfreeze`` has no finer grain: objects that a caller freezes itself *while* a run that froze is
going on are unfrozen with the run's at its end.
"""
from __future__ import annotations

import functools
import gc
import threading
from contextlib import contextmanager

#: first-generation threshold during a run (Python's default: 700)
RUN_THRESHOLD = 100_000

_lock = threading.Lock()
_active = 0
_saved: tuple | None = None
_paused = 0
_was_enabled = False
_scopes: list = []   # the run scopes open (threads), a token each
_owner = None        # the run scope whose freeze is in force (its end unfreezes)


@contextmanager
def fewer_gc_passes(threshold: int = RUN_THRESHOLD):
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            if _saved[0] and _saved[0] < threshold:  # 0: the caller turned collection off; leave it
                gc.set_threshold(threshold, *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


@contextmanager
def paused_gc():
    """No automatic collection inside the block (``gc.disable()``); on leaving it, collection is
    on again if it was on when the first of overlapping blocks (threads) began, once the last ends."""
    global _paused, _was_enabled
    with _lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                _freeze_for_run()
                gc.enable()


def _freeze_for_run() -> None:
    """(With the lock held, collection about to be turned on.) Freeze every tracked object when one
    run scope is open, alone, and no freeze is in force but its own."""
    global _owner
    if len(_scopes) != 1 or (_owner is None and gc.get_freeze_count()):  # (_owner: None or that scope)
        return
    gc.freeze()
    _owner = _scopes[0]


def in_run_scope(fn):
    """``fn`` (a function that returns when its run is over, not a generator) inside :func:`run_scope`."""
    @functools.wraps(fn)
    def scoped(*args, **kwargs):
        with run_scope():
            return fn(*args, **kwargs)
    return scoped


@contextmanager
def run_scope():
    """A run, from building its windows to its last record: when it is the only one going on, the
    objects its :func:`paused_gc` blocks leave are frozen until it ends (see the module docstring).
    Only around code that is sure to leave the block (a function call, not a generator)."""
    global _owner
    token = object()
    with _lock:
        _scopes.append(token)
    try:
        yield
    finally:
        with _lock:
            _scopes.remove(token)
            if _owner is token:
                gc.unfreeze()
                _owner = None
