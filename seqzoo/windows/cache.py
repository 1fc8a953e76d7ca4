"""A bounded least-recently-used cache for reference sequences (window rules read each reference
window once while the VCF stays near it; a sorted VCF moves on and old windows are dropped)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")

#: default budget of a window rule's reference cache: bases (bytes) held at most
DEFAULT_BUDGET = 32 * 1024 * 1024


class SequenceCache(Generic[V]):
    """key -> value, holding at most ``budget`` in ``size(value)`` units (least recently used out).

    ``get(key, make)`` returns the cached value or ``make()``'s, which it keeps. A value larger than
    the whole budget is returned but not kept.
    """

    def __init__(self, budget: int = DEFAULT_BUDGET, size: Callable[[V], int] = len):
        self.budget = budget
        self._size = size
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self.held = 0

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit[0]
        value = make()
        n = self._size(value)
        if n <= self.budget:
            self._items[key] = (value, n)
            self.held += n
            while self.held > self.budget:
                _, (_, dropped) = self._items.popitem(last=False)
                self.held -= dropped
        return value

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
