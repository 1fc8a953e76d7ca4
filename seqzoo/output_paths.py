"""Guarding outputs: no input is ever truncated, overwritten or removed, and two runs never write
the same output at once.

:func:`claim_outputs` runs before anything is opened for writing. It refuses (``OutputPathError``,
one line naming both paths and the fix) an output path that

* is one of the run's inputs (VCF, FASTA and its indexes, GTF, alias file, half-life file, weights,
  BED, ...), also through a symlink, a hard link or another spelling of the same path;
* exists as a folder;
* is given twice (e.g. ``--skipped`` equal to ``-o``);
* is being written by another seqzoo run at this moment: each run holds an exclusive lock
  (``fcntl.flock``) on ``<first output>.lock`` until it ends; the lock file names the run holding it.
"""
from __future__ import annotations

import errno
import fcntl
import os
import socket
import time
from pathlib import Path
from typing import Iterable, Mapping

from .errors import SeqzooError


class OutputPathError(SeqzooError, ValueError):
    """An output path that would destroy an input or collide with another output or run."""


def _same_file(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name the same file (symlinks, hard links, ``..`` resolved)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def make_parent_folder(path: str | os.PathLike) -> None:
    """Create the folder of output ``path``; OSError naming ``path`` when a part of it is a file."""
    for parent in Path(path).parents:
        if parent.exists():
            if not parent.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
            break
    Path(path).parent.mkdir(parents=True, exist_ok=True)


def lock_path(first_output: str | os.PathLike) -> Path:
    return Path(str(first_output) + ".lock")


class OutputLock:
    """An exclusive lock on a run's outputs; :meth:`release` (or the end of the process) frees it."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self, label: str, output: str | os.PathLike) -> "OutputLock":
        make_parent_folder(output)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            finally:
                os.close(fd)
            raise OutputPathError(f"{label} is being written by another seqzoo run ({holder}; lock {self.path}); "
                                  f"wait for it to finish or choose another output path") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, since "
                      f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                self.path.unlink(missing_ok=True)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> "OutputLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def check_outputs(outputs: Mapping[str, str | os.PathLike], inputs: Mapping[str, str | os.PathLike | None],
                  folders: Iterable[str] = ()) -> None:
    """Refuse outputs that are inputs, existing folders (unless named in ``folders``: outputs that
    are folders) or given twice. ``outputs`` / ``inputs``: {what it is (e.g. "-o"): path}."""
    folders = set(folders)
    given = {label: Path(p) for label, p in inputs.items() if p is not None}
    seen: dict[str, Path] = {}
    for label, raw in outputs.items():
        out = Path(raw)
        if label not in folders and out.is_dir():
            raise OutputPathError(f"output {label} {out} is an existing folder; give a file path")
        for in_label, path in given.items():
            if _same_file(out, path):
                raise OutputPathError(f"output {label} {out} is the input {in_label} {path}; writing it would "
                                      f"destroy the input. Choose another output path")
        for other_label, other in seen.items():
            if _same_file(out, other):
                raise OutputPathError(f"outputs {other_label} and {label} are the same file {out}; give them "
                                      f"different paths")
        seen[label] = out


def claim_outputs(outputs: Mapping[str, str | os.PathLike], inputs: Mapping[str, str | os.PathLike | None],
                  folders: Iterable[str] = ()) -> OutputLock:
    """:func:`check_outputs`, then the lock on the first output (held until released)."""
    check_outputs(outputs, inputs, folders)
    label, first = next(iter(outputs.items()))
    return OutputLock(lock_path(first)).acquire(f"output {label} {first}", first)
