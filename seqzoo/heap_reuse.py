"""Freed memory kept for reuse by the C allocator, not handed back to the kernel after every chunk.

The vectorised paths build numpy temporaries of 0.1-10 MB per chunk (characters of REF/ALT, hexamer
segments of indels, window codes). With glibc's default settings the heap's free top is returned
to the kernel as soon as it exceeds 128 kB (and larger arrays are mapped afresh), so the next
chunk's arrays are new pages again, each page a fault (~2.5 us per 4 kB page here): ~10% of HAL's
time on an indel-rich VCF, 3-5% elsewhere (``benchmarks/throughput.py``). :func:`reuse_freed_memory`
sets glibc's ``M_TOP_PAD`` (``mallopt``) so that up to ``SEQZOO_MALLOC_TOP_PAD_MB`` (default 64)
MiB stay at the heap's top when it shrinks; the process then holds up to that much more memory
after a peak than before, its peak itself unchanged.

A process-wide setting, made once when the first run starts (:func:`seqzoo.api.setup_run`, like
torch's thread count) and kept for the process's life (glibc has no call that reads the previous
value back). Left alone: on a C library other than glibc; where the environment already tunes
glibc's malloc (``MALLOC_TOP_PAD_``, ``MALLOC_TRIM_THRESHOLD_``, ``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_MMAP_MAX_`` or ``glibc.malloc`` tunables in ``GLIBC_TUNABLES``); and with
``SEQZOO_MALLOC_TOP_PAD_MB=0``.
"""
from __future__ import annotations

import ctypes
import os
import sys
import threading

from .errors import UsageError

#: the environment variable: MiB kept at the heap's top (0: leave malloc's settings alone)
ENV = "SEQZOO_MALLOC_TOP_PAD_MB"
DEFAULT_MB = 64
#: glibc's mallopt parameter number (malloc.h)
M_TOP_PAD = -2
#: the environment's own malloc settings, which win over ours
USER_SETTINGS = ("MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_MMAP_MAX_")

_lock = threading.Lock()
_done = False
_pad = 0


def pad_from_environment() -> int:
    """Bytes to keep at the heap's top as ``SEQZOO_MALLOC_TOP_PAD_MB`` says (default 64 MiB), 0 where
    the environment tunes glibc's malloc itself. UsageError for a value that is not a whole number
    of MiB >= 0."""
    if any(name in os.environ for name in USER_SETTINGS) or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return 0
    text = os.environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_MB << 20
    if not text.isdigit():
        raise UsageError(f"{ENV} must be a whole number of MiB of freed memory to keep for reuse (0: leave the C "
                         f"allocator's settings alone), not {text!r}")
    return int(text) << 20


def _libc() -> str:
    """'glibc 2.36' for glibc, else '' (musl, other systems)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError, AttributeError):
        return ""


def reuse_freed_memory() -> int:
    """Once per process: set glibc's ``M_TOP_PAD`` to :func:`pad_from_environment`'s bytes. Returns
    the bytes set (by this call or an earlier one), 0 where nothing was set (see the module
    docstring)."""
    global _done, _pad
    with _lock:
        if _done:
            return _pad
        pad = pad_from_environment()
        _done = True
        if pad and sys.platform.startswith("linux") and _libc().startswith("glibc"):
            try:
                ok = ctypes.CDLL(None).mallopt(M_TOP_PAD, ctypes.c_int(min(pad, 2**31 - 1)))
            except (OSError, AttributeError):  # no mallopt in this process's symbols
                ok = 0
            _pad = pad if ok == 1 else 0
        return _pad
