"""Running a producer (VCF parsing, FASTA reads, window building) ahead of its consumer (the model).

:func:`prefetch` moves an iterator into a background thread with a bounded queue. Torch releases
the GIL during a forward pass, so reading and windowing the next chunk overlaps scoring the
current one; the queue bound keeps at most ``depth`` chunks in memory.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


class _Raised:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order, produced by a background thread up to ``depth`` ahead.

    ``depth <= 0`` iterates in the calling thread. An exception in the producer is raised in the
    consumer at the point it would have occurred; closing the generator stops the producer.
    """
    if depth <= 0:
        yield from items
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer
            put(_Raised(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="seqzoo-io", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
