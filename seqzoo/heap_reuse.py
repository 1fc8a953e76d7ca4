"""Freed memory kept for reuse by the C allocator, not handed back to the kernel after every chunk.

The vectorised paths build numpy temporaries of 0.1-10 MB per chunk (characters of REF/ALT, hexamer
segments of indels, window codes). glibc's malloc maps each allocation of 128 kB or more afresh and
returns the heap's free top to the kernel once it exceeds 128 kB, until a large block is freed:
then it raises both limits, at most to 32 MiB and 64 MiB. A process whose history never raised them
(``seqzoo score --model HAL``: a small weights table, no large block freed) gets fresh pages for
every chunk's arrays, each page a fault (~2.5 us per 4 kB page here): a tenth of HAL's time on a
VCF that is half indels (``benchmarks/throughput.py`` and ``tests/test_heap_reuse.py``).

:func:`reuse_freed_memory` sets the limits glibc's own adjustment ends at from the start
(``mallopt``: ``M_MMAP_THRESHOLD`` 32 MiB, ``M_TRIM_THRESHOLD`` 64 MiB): arrays below 32 MiB come
from the heap, and up to 64 MiB of freed memory stay there for the next chunk. Peak memory is
unchanged (measured on HAL, Framepool, Xpresso and windows-only runs); a process may hold up to
64 MiB more after a peak.

A process-wide setting, made once when the first run starts (:func:`seqzoo.api.setup_run`, like
torch's thread count) and kept for the process's life (glibc has no call that reads the previous
values back). Left alone: on a C library other than glibc; where the environment already tunes
glibc's malloc (``MALLOC_TOP_PAD_``, ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_MMAP_MAX_`` or ``glibc.malloc`` tunables in ``GLIBC_TUNABLES``); and with
``SEQZOO_TUNE_MALLOC=0``.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading

from .errors import UsageError

#: the environment variable: 0 leaves malloc's settings alone, 1 (the default) sets them
ENV = "SEQZOO_TUNE_MALLOC"
#: glibc's mallopt parameter numbers (malloc.h) and the values set: glibc's own maximum of its
#: dynamic mmap threshold (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit) and twice that, as it sets them
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
SETTINGS = ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, 64 << 20))
#: the environment's own malloc settings, which win over ours
USER_SETTINGS = ("MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_")

_lock = threading.Lock()
_done = False
_set = False


def wanted() -> bool:
    """Whether to set the allocator's limits: not where the environment tunes glibc's malloc itself
    or ``SEQZOO_TUNE_MALLOC=0``. UsageError for a value other than 0 or 1."""
    text = os.environ.get(ENV, "").strip()
    if text not in ("", "0", "1"):
        raise UsageError(f"{ENV} must be 1 (keep freed memory for reuse, the default) or 0 (leave the C "
                         f"allocator's settings alone), not {text!r}")
    if text == "0":
        return False
    return not (any(name in os.environ for name in USER_SETTINGS)
                or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""))


def _libc() -> str:
    """'glibc 2.36' for glibc, else '' (musl, other systems)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError, AttributeError):
        return ""


def reuse_freed_memory() -> bool:
    """Once per process: glibc's mmap and trim thresholds set to 32 and 64 MiB (see the module
    docstring). Returns whether they are set (by this call or an earlier one)."""
    global _done, _set
    with _lock:
        if _done:
            return _set
        want = wanted()
        _done = True
        if want and sys.platform.startswith("linux") and _libc().startswith("glibc"):
            try:
                mallopt = ctypes.CDLL(None).mallopt
                _set = all([mallopt(param, ctypes.c_int(value)) == 1 for param, value in SETTINGS])
            except (OSError, AttributeError):  # no mallopt in this process's symbols
                _set = False
        return _set
