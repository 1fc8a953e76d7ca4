"""seqzoo's own error types: the ones the command line turns into one ``seqzoo: error:`` line.

Anything else that escapes is a bug and keeps its traceback (``--debug`` shows it for these too).
"""
from __future__ import annotations


class SeqzooError(Exception):
    """A problem with the user's inputs, arguments or environment; the message names the file,
    record or option and the fix."""


class UsageError(SeqzooError, ValueError):
    """Arguments that do not fit together (a model that does not exist, an option no model takes, ...)."""
