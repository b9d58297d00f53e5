"""One thread-safe LRU for every cache of the memories: cachetools' `LRUCache` behind a lock.

cachetools keeps the order, the sizes and the evictions, bounded by entry count or, with
`getsizeof`, by the summed size of the values (the frame cache counts bytes). It is not
thread-safe, and the web app asks from many threads, so every call here holds one lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from cachetools import LRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_MISSING = object()


class LruCache(Generic[K, V]):
    """Keeps the most recently used values within `maxsize` entries (or size units with `getsizeof`)."""

    def __init__(self, maxsize: int, getsizeof: Callable[[V], int] | None = None):
        self._items: LRUCache[K, V] = LRUCache(maxsize, getsizeof)
        self._lock = threading.Lock()

    @property
    def maxsize(self) -> int:
        return int(self._items.maxsize)

    @property
    def currsize(self) -> int:
        """Entries held, or the summed size of the values with `getsizeof`; never above `maxsize`."""
        return int(self._items.currsize)

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: K) -> V | None:
        """The value, marked as just used; None on a miss (use `get_or_load` where None is a value)."""
        with self._lock:
            return self._items.get(key)

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        """The cached value, or `load()` kept and returned. `load` runs outside the lock, so a
        slow load does not stall other keys; two threads missing one key may both load it."""
        with self._lock:
            value = self._items.get(key, _MISSING)
        if value is _MISSING:
            value = load()
            self.put(key, value)
        return value  # type: ignore[return-value]

    def put(self, key: K, value: V) -> bool:
        """Keep `value`, evicting the least recently used; False when it alone exceeds `maxsize` (not kept)."""
        with self._lock:
            try:
                self._items[key] = value
            except ValueError:  # cachetools: "value too large"
                self._items.pop(key, None)  # an older, smaller value must not outlive its replacement
                return False
            return True

    def remove_if(self, doomed: Callable[[K], bool]) -> None:
        """Drop every entry whose key `doomed` accepts."""
        with self._lock:
            for key in [key for key in self._items if doomed(key)]:
                del self._items[key]
