"""Failed sign-in attempts, counted per client and overall, so passwords and tokens cannot be guessed
at speed: past `per_client` failures within `window_s` seconds a client waits, and past `overall`
failures from everyone together every new attempt waits (a guesser spread over many addresses)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_CLIENTS = 10_000  # clients remembered; the oldest are forgotten first


class Throttle:
    def __init__(self, per_client: int, window_s: float, overall: int, clock: Callable[[], float] = time.monotonic):
        self.per_client = per_client
        self.window_s = window_s
        self.overall = overall
        self._clock = clock
        self._clients: OrderedDict[str, deque[float]] = OrderedDict()
        self._all: deque[float] = deque()
        self._lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds before `client` may try again; 0 when it may try now."""
        now = self._clock()
        with self._lock:
            waits = [self._wait(self._all, self.overall, now)]
            if client in self._clients:
                waits.append(self._wait(self._clients[client], self.per_client, now))
            return max(waits)

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            self._clients.setdefault(client, deque()).append(now)
            self._clients.move_to_end(client)
            while len(self._clients) > MAX_CLIENTS:
                self._clients.popitem(last=False)
            self._all.append(now)

    def succeeded(self, client: str) -> None:
        """A client that signs in starts afresh (what others failed still counts overall)."""
        with self._lock:
            self._clients.pop(client, None)

    def _wait(self, times: deque[float], limit: int, now: float) -> float:
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if len(times) < limit:
            return 0.0
        return max(0.001, times[len(times) - limit] + self.window_s - now)
