"""Freed memory kept for reuse by glibc's malloc, not handed back to the kernel after every chunk.

The vectorised paths build and free numpy temporaries of 0.1-10 MB per chunk (characters of REF/ALT,
hexamer segments of indels, window codes). glibc's malloc adapts its thresholds to the largest block
freed so far: after freeing a mapped block of size S it maps only blocks above S and returns the
heap's free top to the kernel once that exceeds 2 S (at most 32 MiB and 64 MiB on 64-bit). A chunk
frees many such arrays at once, more than 2 S together, so the heap shrinks after every chunk and
the next chunk's arrays are fresh pages again, each page a fault (~2.5 us per 4 kB page here). In
``seqzoo score --model HAL`` on a VCF that is half indels that was 35,000-40,000 faults per 97,500
alleles, 5-15% of the run, and APARENT2's batches paid the same (``benchmarks/malloc.py``; a
process whose history had freed a block of 32 MiB, e.g. one that loaded Framepool first, did not).

:func:`reuse_freed_memory` sets the thresholds that adaptation ends at from the start (``mallopt``:
``M_MMAP_THRESHOLD`` 32 MiB on 64-bit, ``M_TRIM_THRESHOLD`` twice that; setting either turns the
adaptation off, hence both): blocks below 32 MiB come from the heap, and up to 64 MiB of freed
memory stay at the top of each malloc arena (one per allocating thread, up to 8 per core) for
the next chunk. A process may therefore hold more memory after a peak than before (64 MiB per arena
at most, plus heap fragmentation around long-lived blocks), and its peak can be that much higher:
``seqzoo score --model Framepool`` on 1,000,000 rsID records with a GENCODE-size GTF peaked at
862-877 MiB against 801 (and ran in 52 s against 61-65); HAL's peaks there and the peaks of
``benchmarks/malloc.py``'s workloads moved by less than 2%, Xpresso ISM's aside (595-671 MiB either
way) (``tests/test_heap_reuse.py`` checks the faults).

A process-wide setting that cannot be undone (glibc has no call that reads the old values back):
``seqzoo``'s command line makes it (the process is its own); the Python API never does unless
called (``seqzoo.reuse_freed_memory()``, once, e.g. at the top of a script). Left alone: on a C
library other than glibc; where the environment sets glibc's thresholds itself
(``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TOP_PAD_``, ``MALLOC_MMAP_MAX_``,
or ``glibc.malloc.trim_threshold``, ``.mmap_threshold``, ``.top_pad``, ``.mmap_max`` in
``GLIBC_TUNABLES``); and with the environment variable ``SEQZOO_TUNE_MALLOC=0``.
"""
from __future__ import annotations

import os
import sys
import threading

from .errors import UsageError

#: the environment variable: 0 leaves malloc's settings alone, 1 (the default) sets them
ENV = "SEQZOO_TUNE_MALLOC"
#: glibc's mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: the environment's own settings of the same thresholds, which win over ours
USER_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
USER_TUNABLES = ("glibc.malloc.trim_threshold", "glibc.malloc.mmap_threshold", "glibc.malloc.top_pad",
                 "glibc.malloc.mmap_max")

_lock = threading.Lock()
_done = False
_set = False


def wanted() -> bool:
    """Whether to set the thresholds: not where the environment sets them itself or says
    ``SEQZOO_TUNE_MALLOC=0``. UsageError for a value other than 0 or 1."""
    text = os.environ.get(ENV, "").strip()
    if text not in ("", "0", "1"):
        raise UsageError(f"environment variable {ENV} must be 1 (keep freed memory for reuse, the default) or 0 "
                         f"(leave the C allocator's settings alone), not {text!r}")
    if text == "0":
        return False
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    return not (any(name in os.environ for name in USER_VARIABLES) or any(t in tunables for t in USER_TUNABLES))


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):  # musl and others: no such name
        return False


def reuse_freed_memory() -> bool:
    """Once per process: glibc's mmap threshold set to its adaptive maximum (32 MiB on 64-bit) and
    its trim threshold to twice that (see the module docstring). Returns whether they are set (by
    this call or an earlier one); UsageError for a bad ``SEQZOO_TUNE_MALLOC``."""
    global _done, _set
    with _lock:
        if _done:
            return _set
        want = wanted()
        _done = True
        if want and _glibc():
            import ctypes

            mmap_max = (4 << 20) * ctypes.sizeof(ctypes.c_long)  # glibc's DEFAULT_MMAP_THRESHOLD_MAX
            try:
                mallopt = ctypes.CDLL(None).mallopt
            except (OSError, AttributeError):  # no mallopt among this process's symbols
                return _set
            # the mmap threshold first: where glibc refuses it, the trim threshold is left alone too
            # (setting it alone would freeze the mmap threshold at its default, 128 kB)
            _set = mallopt(M_MMAP_THRESHOLD, ctypes.c_int(mmap_max)) == 1 and \
                mallopt(M_TRIM_THRESHOLD, ctypes.c_int(2 * mmap_max)) == 1
        return _set
