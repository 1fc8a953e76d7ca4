"""Progress notes of a running ``seqzoo score`` / ``seqzoo windows`` and ``--resume``.

After the first chunk (whole VCF records), then after the first chunk that ends at least
:data:`CHECKPOINT_SECONDS` after the last note, the run syncs its files (TSV files are fsynced,
HDF5 flushed; Parquet parts are whole files) and writes ``OUT.progress.json`` atomically: the
number of the last VCF record whose rows and skips are all written, the byte size (TSV), part
count (Parquet) or row count (HDF5) of the output and skip report at that point, the run's counts
so far, and a fingerprint of the inputs. A run stopped by Ctrl-C or SIGTERM, or failing, syncs
its files, cuts them back to the end of its last whole chunk, notes that point and says where it
stopped (where that sync, or an earlier one, failed, it goes back to its last note instead); a
killed run (SIGKILL, lost node) leaves its last note, CHECKPOINT_SECONDS of work and the chunk
under way at most behind. ``--resume`` checks the fingerprint, cuts the files back to the note,
takes over its counts and continues after its last record, so no row is written twice. A run
that completes removes the note and writes ``OUT.summary.json``.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path

from .outputs import ResumeError, default_summary_path

#: seconds between progress notes (and the fsyncs before them): a note after every chunk cost ~10%
#: of a HAL run on a local disk (three fsyncs per chunk), more on cluster file systems
CHECKPOINT_SECONDS = 2.0


def progress_path(out: str | os.PathLike) -> Path:
    return Path(str(out) + ".progress.json")


def file_identity(path) -> list | None:
    """[absolute path, size, mtime in ns] of an input file (None when not given)."""
    if path is None:
        return None
    p = Path(path)
    if not p.exists():
        return [str(p), None, None]
    st = p.stat()
    return [str(p.resolve()), st.st_size, st.st_mtime_ns]


class Progress:
    """The progress note of the run writing ``out``; ``fingerprint`` identifies the run's inputs."""

    def __init__(self, out: str | os.PathLike, fingerprint: dict):
        self.out = Path(out)
        self.path = progress_path(out)
        self.fingerprint = fingerprint

    def resume_point(self) -> dict | None:
        """The saved note to resume from; None when there is none (start from the beginning).

        Raises ValueError when the note belongs to another run or the output is already complete.
        """
        if not self.path.exists():
            if default_summary_path(self.out).exists():
                raise ResumeError(f"{self.out} is complete ({default_summary_path(self.out)} exists); nothing to "
                                 f"resume. Run without --resume to score again.")
            return None
        try:
            note = json.loads(self.path.read_text())
        except ValueError as exc:
            raise ResumeError(f"cannot resume: the progress note {self.path} is unreadable ({exc}); start again "
                             f"without --resume") from exc
        saved = note.get("fingerprint", {})
        changed = sorted(k for k in set(saved) | set(self.fingerprint) if saved.get(k) != self.fingerprint.get(k))
        if changed:
            raise ResumeError(f"cannot resume: {self.path} was written by a run with other "
                             f"{', '.join(changed)} (inputs, models and output columns must be the same, and the "
                             f"input files unchanged); rerun the original command with --resume, or start again "
                             f"without --resume")
        return note

    def save(self, status: str, last_record: int, last_record_at: str, summary: dict, output_state: dict,
             skipped_state: dict, error: str | None = None, outside_state: dict | None = None,
             open_run: dict | None = None) -> None:
        """Write the note atomically: ``last_record`` (1-based VCF record number, at
        ``last_record_at`` = chrom:pos) is the last record whose rows and skips are all in the
        files, whose sizes then were ``output_state`` / ``skipped_state`` / ``outside_state``."""
        note = {"status": status, "last_record": last_record, "last_record_at": last_record_at,
                "output_state": output_state, "skipped_state": skipped_state, "summary": summary,
                "fingerprint": self.fingerprint, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        if outside_state is not None:
            note["outside_state"] = outside_state
            note["open_run"] = open_run
        if error:
            note["error"] = error
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(note, indent=2) + "\n")
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class Stopped(KeyboardInterrupt):
    """The run was asked to stop (SIGINT or SIGTERM)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def stop_signals():
    """Within the block, SIGINT and SIGTERM raise :class:`Stopped` in the main thread."""
    def handler(signum, frame):
        raise Stopped(signum)

    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
