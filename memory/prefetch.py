"""Run an iterator one step ahead in a thread of its own, so producing the next item (decoding
frames: C code that releases the GIL) overlaps with consuming this one (OCR, speech, writes).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


@contextmanager
def prefetch(items: Iterable[T], depth: int = 1, name: str = "longshot-prefetch") -> Iterator[Iterator[T]]:
    """Iterate `items` in a background thread, at most `depth` items ahead of the consumer.

    An exception raised by the producer is raised to the consumer at the item where it
    happened. Leaving the block early stops the producer after the item it is on, and waits
    for it, so whatever it reads from (a video decoder) may be closed right after.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, not {depth}")
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if not _offer(ready, (item, None), stop):
                    return
            _offer(ready, (_DONE, None), stop)
        except BaseException as error:  # handed to the consumer's thread
            _offer(ready, (_DONE, error), stop)

    def consume() -> Iterator[T]:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        while worker.is_alive():
            with contextlib.suppress(queue.Empty):
                ready.get(timeout=0.05)  # unblock a producer waiting to put
        worker.join()


def _offer(ready: queue.Queue, entry: tuple, stop: threading.Event) -> bool:
    """Put `entry` unless asked to stop first; False when stopped."""
    while not stop.is_set():
        try:
            ready.put(entry, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False
