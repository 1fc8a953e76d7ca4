"""Finding, downloading, verifying and caching published weight files.

A model's file is resolved in this order:

1. an explicit path (``load_model(name, weights=PATH)``, ``seqzoo score --weights PATH``);
   used as given (a differing md5 is logged, not refused, so retrained or synthetic files in the
   published layout can be used on purpose);
2. ``$SEQZOO_WEIGHTS_DIR/<official file name>`` (offline copies; md5 verified);
3. the user cache ``$SEQZOO_CACHE_DIR`` or ``$XDG_CACHE_HOME/seqzoo`` or ``~/.cache/seqzoo``
   (md5 verified);
4. a download from the official URL into the cache: written to a temporary file in the cache
   folder, md5 verified, then atomically renamed, so concurrent processes never see a partial file.

Every failure raises :class:`WeightsError` naming the file, the URL and how to provide it offline.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import SeqzooError

log = logging.getLogger(__name__)

ENV_WEIGHTS_DIR = "SEQZOO_WEIGHTS_DIR"
ENV_CACHE_DIR = "SEQZOO_CACHE_DIR"
ENV_OFFLINE = "SEQZOO_OFFLINE"


class WeightsError(SeqzooError, RuntimeError):
    """A weights file could not be found, downloaded or verified. ``short``: one line for notes
    such as ``--model all`` leaving a model out."""

    def __init__(self, message: str, short: str | None = None):
        super().__init__(message)
        self.short = short or message.split(". ")[0]


@dataclass(frozen=True)
class WeightsFile:
    """One published weights file: its official name, URL and md5."""

    filename: str
    url: str
    md5: str

    def offline_hint(self) -> str:
        return (f"To work offline, download it yourself (e.g. `curl -L -o {self.filename} '{self.url}'`) "
                f"and either put it in a folder named by ${ENV_WEIGHTS_DIR} under the name "
                f"'{self.filename}', or pass its path explicitly (--weights PATH / weights=PATH).")


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def cache_dir() -> Path:
    """The user cache folder for weights (not created here)."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "seqzoo"


def _verify(path: Path, spec: WeightsFile, where: str) -> Path:
    got = md5sum(path)
    if got != spec.md5:
        size = path.stat().st_size
        raise WeightsError(
            f"Weights file {path} ({where}) has md5 {got} ({size} bytes) but the published "
            f"'{spec.filename}' from {spec.url} has md5 {spec.md5}: the file is corrupted, truncated "
            f"or a different release. Delete it and let seqzoo download it again, or replace it. "
            + spec.offline_hint())
    return path


def weights_dirs() -> list[tuple[str, Path]]:
    """Where ``$SEQZOO_WEIGHTS_DIR`` points: [(how it was read, folder)].

    A relative value is resolved against the folder seqzoo was started in (``$PWD``: ``kipoi``
    changes into the model folder before seqzoo runs) and, if that differs, the current folder.
    """
    value = os.environ.get(ENV_WEIGHTS_DIR)
    if not value:
        return []
    given = Path(value).expanduser()
    if given.is_absolute():
        return [(f"${ENV_WEIGHTS_DIR}", given)]
    out = []
    for base, how in ((os.environ.get("PWD"), "the folder seqzoo was started in"), (os.getcwd(), "the current folder")):
        folder = (Path(base) / given).resolve() if base else None
        if folder is not None and all(folder != p for _, p in out):
            out.append((f"${ENV_WEIGHTS_DIR}={value} (relative to {how}, {base})", folder))
    return out


def resolve(spec: WeightsFile, path: str | os.PathLike | None = None, download: bool | None = None) -> Path:
    """Return a local path to ``spec``'s file, downloading it into the cache if needed.

    ``download=None`` means: download unless ``$SEQZOO_OFFLINE`` is set (to anything but empty, 0,
    false or no). A failure names every place looked in.
    """
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise WeightsError(f"Weights file {p} (given explicitly for '{spec.filename}') does not exist. "
                               + spec.offline_hint(), short=f"weights file {p} does not exist")
        if md5sum(p) != spec.md5:
            log.warning("weights %s: md5 differs from the published %s (%s); using it as given",
                        p, spec.filename, spec.md5)
        return p
    looked = []
    dirs = weights_dirs()
    for how, folder in dirs:
        p = folder / spec.filename
        if p.is_file():
            return _verify(p, spec, f"from {how}")
        looked.append(f"{how}: {p} (not there{'' if folder.is_dir() else '; that folder does not exist'})")
    if not dirs:
        looked.append(f"${ENV_WEIGHTS_DIR}: not set")
    cached = cache_dir() / spec.filename
    if cached.is_file():
        return _verify(cached, spec, "from the seqzoo cache")
    looked.append(f"the seqzoo cache: {cached} (not there)")
    if download is None:
        download = os.environ.get(ENV_OFFLINE, "").strip().lower() in ("", "0", "false", "no")
    if dirs:
        where = ", ".join(f"{folder}{'' if folder.is_dir() else ', which does not exist'}" for _, folder in dirs)
        short = f"{spec.filename} is not in ${ENV_WEIGHTS_DIR} ({where}) or the cache; get it from {spec.url}"
    else:
        short = (f"weights file {spec.filename} not in the cache (${ENV_WEIGHTS_DIR} is not set); get it from "
                 f"{spec.url}")
    if not download:
        raise WeightsError(f"Weights file '{spec.filename}' was not found, and downloads are off (${ENV_OFFLINE}). "
                           f"Looked in: {'; '.join(looked)}. " + spec.offline_hint(), short=short)
    return _download(spec, cached, f"Looked in first: {'; '.join(looked)}. ", short)


def _download(spec: WeightsFile, target: Path, looked: str = "", short: str | None = None) -> Path:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WeightsError(f"Cannot create the weights cache {target.parent}: {exc}. Set ${ENV_CACHE_DIR} "
                           f"to a writable folder. " + spec.offline_hint()) from exc
    log.info("downloading %s from %s", spec.filename, spec.url)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(spec.url, timeout=60) as response:
                    shutil.copyfileobj(response, out, 1 << 20)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                raise WeightsError(f"Could not download '{spec.filename}' from {spec.url}: {exc}. {looked}"
                                   + spec.offline_hint(), short=short) from exc
        got = md5sum(tmp)
        if got != spec.md5:
            raise WeightsError(f"Downloaded '{spec.filename}' from {spec.url} has md5 {got}, expected "
                               f"{spec.md5} (truncated or changed upstream); nothing was cached. "
                               + spec.offline_hint())
        os.replace(tmp, target)  # atomic: other processes see the whole file or none
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
