"""A small bounded time-to-live cache (Warden's answers about sessions and API keys)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """Entries live `ttl` seconds; at most `max_entries` are kept (oldest evicted first).

    >>> c: TtlCache[int] = TtlCache(ttl=60, max_entries=2)
    >>> c.put("a", 1); c.put("b", 2); c.put("c", 3)
    >>> (c.get("a"), c.get("c"))
    (None, 3)
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires <= time.monotonic():
            self._items.pop(key, None)
            return None
        return value

    def put(self, key: str, value: V) -> None:
        if self.ttl <= 0:
            return
        self._items.pop(key, None)
        self._items[key] = (time.monotonic() + self.ttl, value)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()
