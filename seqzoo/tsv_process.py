"""Formatting a run's TSV text in a helper process while the next chunks are built and scored.

Writing a chunk's rows as text (:func:`seqzoo.outputs.render_tsv`: a printf of every cell,
~1.3 us a row of 15 cells) holds the interpreter lock, so a thread cannot overlap it with scoring.
For models whose scoring is itself Python and numpy (HAL: the text is ~30% of a run), a core that
would sit idle formats it instead: the run sends chunk k's table to the helper (text columns joined,
the rest pickled: ~0.1 us a row), builds and scores the next :data:`DEPTH` chunks meanwhile, then
reads chunk k's text back and writes it. Rows, files and progress notes are the same as without the
helper (``_stream`` in :mod:`seqzoo.api`).

The helper is one child per interpreter (``python -c`` running :func:`_serve`), started on first
use and kept for later runs: its start-up (~0.2 s) is paid once, and until it has said it is
ready, chunks are formatted in the run's process. It is not a ``multiprocessing`` child: nothing
re-imports the caller's ``__main__``, so a script without an ``if __name__ == "__main__"`` guard
stays safe. It runs at a lower priority (:data:`NICE`), so that it takes a core where one is idle,
not a model's torch threads' core, and it ignores SIGINT (a Ctrl-C stops the run, which then writes
what it has; the helper exits at the end of its input, quietly).

Neither side waits on the other to read: the helper reads every table as it comes (a thread of its
own formats and answers them in order), and the run writes tables without blocking (``select``
with a deadline), so a table or a text larger than the pipe cannot hang them.

The text is the same bytes whoever formats it: the helper imports this same seqzoo (this package's
folder first on its ``sys.path``) and says, when ready, a digest of the files it formats with; a
helper whose files differ from those this process imported (seqzoo upgraded or edited since) is not
used. A helper that cannot start, dies, answers out of turn or takes longer than
:data:`TIMEOUT_SECONDS`, and a send or wait cut short by a signal, end its use for this interpreter:
that chunk and every later one are formatted in-process. A table the helper cannot format is
formatted in-process too, where the error is raised as without the helper. POSIX only (``select``
on pipes).
"""
from __future__ import annotations

import atexit
import collections
import contextlib
import hashlib
import logging
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

_FRAME = struct.Struct("<Q")  # a frame: its length, then that many bytes (a pickle)
_READY = b"seqzoo-tsv-helper-ready "  # the helper's first words, then the digest of its files and "\n"
#: the helper's scheduling priority (nice increment): below the run's
NICE = 10
#: a helper that has not taken or answered a table after this long is given up (formatted here)
TIMEOUT_SECONDS = 120.0
#: how long a run that stopped waits for answers it will not use, before giving the helper up
DROP_SECONDS = 10.0
#: tables sent and not answered at most: a run writes chunk k after building chunks k + 1 ..
#: k + DEPTH (chunks differ in work: the second piece of a VCF block cut in two costs little, and
#: one chunk's time alone may not cover the helper's)
DEPTH = 2
#: pipe buffer asked for each way (Linux; capped by /proc/sys/fs/pipe-max-size and the user's pipe
#: quota): a chunk's table or text then fits and crosses in one go (smaller pipes work, in pieces)
PIPE_BYTES = 1 << 20
#: the modules whose code makes the text (their files' digest must be the same in the helper)
_FORMATTING_FILES = ("outputs.py", "table.py", "tsv_process.py")


def _files_digest() -> str:
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in _FORMATTING_FILES:
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:32]


_DIGEST = _files_digest()  # (when this process imported seqzoo's output code, with api.py)


def usable_cpus() -> int:
    """Logical CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class HelperFailed(Exception):
    """The helper process stopped, timed out or answered out of turn."""


class TsvHelper:
    """A helper process formatting tables as TSV text: :meth:`submit` a table, later :meth:`text`
    gives its bytes (the helper's, or formatted here where it could not). Tables are answered in
    the order sent; one user at a time (see :func:`checkout`)."""

    def __init__(self):
        package_root = str(Path(__file__).resolve().parent.parent)
        code = (f"import sys; sys.path[0] = {package_root!r}; "  # (in place of the working folder)
                "from seqzoo.tsv_process import _serve; _serve()")
        self.broken = False
        self._proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      close_fds=True)
        self._in, self._out = self._proc.stdin.fileno(), self._proc.stdout.fileno()
        for fd in (self._in, self._out):
            try:
                import fcntl
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            except (ImportError, AttributeError, OSError):  # not Linux, or beyond the limits: as it is
                pass
        os.set_blocking(self._in, False)  # (writes wait in select, with a deadline)
        self._ready = False
        self._sent = 0  # tickets handed out
        self._pending: collections.deque[int] = collections.deque()  # sent, not answered yet, in order
        self.answered = 0  # tables whose text came from the helper

    @property
    def ready(self) -> bool:
        """Whether the helper has started (checked without waiting) with the same formatting code."""
        if not self._ready and not self.broken:
            with self._fail_on_error():
                if select.select([self._out], [], [], 0)[0]:
                    line = self._read(len(_READY) + 33)
                    if not line.startswith(_READY):
                        raise HelperFailed("it did not start")
                    if line[len(_READY):-1].decode() != _DIGEST:
                        raise HelperFailed("seqzoo's output code on disk is not the code this process imported "
                                           "(upgraded or edited since)")
                    self._ready = True
        return self._ready

    def submit(self, table, names, gzipped: bool) -> int | None:
        """Send ``table`` (a :class:`seqzoo.table.Table`, columns ``names``; gzip members where
        ``gzipped``) to be formatted: its ticket, or None where the helper is not ready, broken,
        :data:`DEPTH` tables behind, or the table cannot be packed (then format it here)."""
        if self.broken or len(self._pending) >= DEPTH or not self.ready:
            return None
        ticket = self._sent + 1
        try:
            frame = pickle.dumps((ticket, _packed(table, names), list(names), gzipped),
                                 protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - e.g. an object that cannot be pickled: formatted here
            return None
        with self._fail_on_error():
            self._write(_FRAME.pack(len(frame)) + frame)
            self._sent = ticket
            self._pending.append(ticket)
            return ticket
        return None

    def text(self, ticket: int | None, table, names, gzipped: bool) -> bytes:
        """The bytes of ``table`` (columns ``names``, ``gzipped``) sent as ``ticket``: the helper's
        answer (waited for), or formatted here (``ticket`` None, or the helper failed)."""
        from .outputs import render_tsv

        if ticket is not None and ticket in self._pending:
            while self._pending:  # answers come in order (any before this one are dropped)
                sent, data = self._next_answer()
                if sent == ticket:
                    if data is not None:
                        self.answered += 1
                        return data
                    break
        return render_tsv(table, names, gzipped)

    def drop(self) -> None:
        """Read and drop the answers to tables sent and not asked for (a run stopped before it
        wrote them), so that the next run's answers are its own; a helper that does not answer
        within :data:`DROP_SECONDS` is given up."""
        while self._pending:
            self._next_answer(DROP_SECONDS)

    def close(self) -> None:
        """Stop the helper: the end of its input, then SIGTERM and SIGKILL if it goes on."""
        self.broken = True
        self._pending.clear()
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                stream.close()
            except OSError:  # (the input's unflushed bytes: there are none, it is written with os.write)
                pass
        for stop in (None, self._proc.terminate, self._proc.kill):
            if stop is not None:
                stop()
            try:
                self._proc.wait(timeout=2)
                return
            except subprocess.TimeoutExpired:
                continue

    def _next_answer(self, timeout: float = TIMEOUT_SECONDS) -> tuple[int, bytes | None]:
        """(ticket, answer) of the first table pending, which is then no longer pending (a ticket
        is taken off only once its answer is read: a signal meanwhile gives the helper up)."""
        ticket = self._pending[0]
        data = self._answer(ticket, timeout)
        if self._pending:  # (a failure closed the helper, which cleared them)
            self._pending.popleft()
        return ticket, data

    def _answer(self, ticket: int, timeout: float = TIMEOUT_SECONDS) -> bytes | None:
        """The helper's answer to ``ticket`` (None: it could not format the table, or failed)."""
        if self.broken:
            return None
        with self._fail_on_error():
            answered, data = pickle.loads(self._read(_FRAME.unpack(self._read(_FRAME.size, timeout))[0], timeout))
            if answered != ticket:
                raise HelperFailed(f"it answered table {answered} for table {ticket}")
            return data
        return None

    def _read(self, n: int, timeout: float = TIMEOUT_SECONDS) -> bytes:
        deadline = time.monotonic() + timeout
        parts = []
        while n:
            if not select.select([self._out], [], [], max(deadline - time.monotonic(), 0))[0]:
                raise HelperFailed(f"no answer in {timeout:.0f} s")
            part = os.read(self._out, min(n, PIPE_BYTES))
            if not part:
                raise HelperFailed("it stopped")
            parts.append(part)
            n -= len(part)
        return b"".join(parts)

    def _write(self, data: bytes) -> None:
        deadline = time.monotonic() + TIMEOUT_SECONDS
        view = memoryview(data)
        while view:
            if not select.select([], [self._in], [], max(deadline - time.monotonic(), 0))[1]:
                raise HelperFailed(f"it took no input in {TIMEOUT_SECONDS:.0f} s")
            try:
                view = view[os.write(self._in, view):]
            except BlockingIOError:
                continue

    @contextlib.contextmanager
    def _fail_on_error(self):
        """Within the block, a failure ends the helper's use (logged); a signal's exception (a
        frame half sent or read) does too, and goes on."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - whatever it is, the text is formatted here
            log.warning("the TSV helper process failed (%s); formatting in this process from now on", exc)
            self.close()
        except BaseException:
            self.close()
            raise


#: between the cells of a text column sent joined (a column with a cell holding it goes pickled)
_SEP = "\x00"


def _packed(table, names) -> tuple:
    """``table``'s columns ``names`` for the pipe: a column of ``str`` cells as one string joined by
    :data:`_SEP` (~10 ns a cell; pickling each str object costs 20-30), others as they are."""
    columns = {}
    for name in names:
        values = table.columns[name]
        if values.dtype == object and len(values):
            try:
                joined = _SEP.join(values.tolist())
            except TypeError:  # a cell that is not a str
                joined = None
            if joined is not None and joined.count(_SEP) == len(values) - 1:
                columns[name] = joined
                continue
        columns[name] = values
    return table.n, columns, {k: v for k, v in table.present.items() if k in columns}


def _unpacked(packed):
    """The :class:`seqzoo.table.Table` of :func:`_packed` (text columns as object arrays)."""
    import numpy as np

    from .table import Table

    n, columns, present = packed
    for name, values in columns.items():
        if isinstance(values, str):
            cells = np.empty(n, dtype=object)
            cells[:] = values.split(_SEP)
            columns[name] = cells
    return Table(n, columns, present)


_helper: TsvHelper | None = None
_failed = False
_in_use = threading.Lock()  # one run at a time: a second run (another thread) formats in-process


@contextlib.contextmanager
def checkout() -> Iterator[TsvHelper | None]:
    """This interpreter's helper for one run (started on first use), or None where it cannot run
    (not POSIX, ``sys.executable`` not a Python), has failed before, or another run holds it."""
    global _helper, _failed
    if not _in_use.acquire(blocking=False):
        yield None
        return
    try:
        if _helper is not None and _helper.broken:
            _helper, _failed = None, True
        if _helper is None and not _failed:
            if os.name != "posix" or not os.path.basename(sys.executable or "").lower().startswith(("python", "pypy")):
                _failed = True
            else:
                try:
                    _helper = TsvHelper()
                except OSError as exc:
                    log.info("no TSV helper process (%s); formatting in this process", exc)
                    _failed = True
        yield _helper
    finally:
        try:
            if _helper is not None:
                _helper.drop()  # (never raises but for a signal: a failure gives the helper up)
        finally:
            _in_use.release()


def _forget_in_child() -> None:
    """After a fork (without exec): the parent's helper is not this process's. Its pipes' copies
    here are pointed at /dev/null (closing them could close a file that later reuses the number),
    so that the helper still sees the end of its input when the parent closes it."""
    global _helper, _in_use
    if _helper is not None:
        try:
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (_helper._in, _helper._out):
                os.dup2(null, fd)
            os.close(null)
        except OSError:
            pass
        _helper.broken = True  # (nothing here uses it again: not a process of ours to close)
        _helper = None
    _in_use = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


@atexit.register
def _stop_helper() -> None:
    if _helper is not None and not _helper.broken:
        _helper.close()


def _serve() -> None:
    """The helper's main: framed ``(ticket, packed table, names, gzipped)`` pickles in, framed
    ``(ticket, bytes)`` out, or ``(ticket, None)`` where formatting raised (the run formats that
    table itself and sees the error). The main thread reads every table as it comes; a second one
    formats and answers them in order. Ends (quietly) at the end of its input or when the run
    closes its answers."""
    from .outputs import render_tsv

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        os.nice(NICE)
    except (AttributeError, OSError):
        pass
    src, dst = sys.stdin.buffer, sys.stdout.buffer
    tables: queue.SimpleQueue = queue.SimpleQueue()

    def answer() -> None:
        try:
            while True:
                item = tables.get()
                if item is None:
                    break
                ticket, packed, names, gzipped = pickle.loads(item)
                try:
                    data = render_tsv(_unpacked(packed), names, gzipped)
                except Exception:  # noqa: BLE001 - the run formats it again and raises there
                    data = None
                frame = pickle.dumps((ticket, data), protocol=pickle.HIGHEST_PROTOCOL)
                dst.write(_FRAME.pack(len(frame)) + frame)
                dst.flush()
        except (OSError, ValueError):  # the run closed its end
            pass
        os._exit(0)

    try:
        dst.write(_READY + _DIGEST.encode() + b"\n")
        dst.flush()
        threading.Thread(target=answer, daemon=True).start()
        while True:
            head = src.read(_FRAME.size)
            if len(head) < _FRAME.size:
                break
            frame = src.read(_FRAME.unpack(head)[0])
            if len(frame) < _FRAME.unpack(head)[0]:
                break
            tables.put(frame)
    except (OSError, ValueError):
        os._exit(0)
    tables.put(None)  # answer what came in full, then exit
    threading.Event().wait()
