"""When to stop asking a VLM that keeps failing: one rule, for ingest and for questions alike."""

from __future__ import annotations

import threading

from perception.errors import LongshotError, ModelOutputError

ENDPOINT = "endpoint"


class VLMGuard:
    """Counts a VLM's failures in a row and says when to leave it out.

    The rule: after `give_up_after` failures in a row, what failed is left out for good.
    A failure of the endpoint (down, 5xx after the client's retries, timed out, not an API)
    counts against every kind of request, since they all go there. A reply that cannot be
    used (ModelOutputError) counts against its own kind of request only (a model that
    captions well may still write broken JSON facts), and shows the endpoint answers. A
    success clears the count of its kind and of the endpoint.

    `give_up_after` is the caller's patience, the one thing callers choose: an ingest of a
    long video rides out a passing outage (3), while a question, whose user waits through
    every try, gives up at the first (1). The client has already retried what retrying can
    help before a call counts as failed. Safe to share between threads.
    """

    def __init__(self, give_up_after: int):
        if give_up_after < 1:
            raise ValueError(f"give_up_after must be at least 1, not {give_up_after}")
        self.give_up_after = give_up_after
        self._in_a_row: dict[str, int] = {}
        self._left_out: set[str] = set()
        self._lock = threading.Lock()

    def allows(self, kind: str) -> bool:
        """Whether a request of this kind may still go to the VLM."""
        with self._lock:
            return not {ENDPOINT, kind} & self._left_out

    def succeeded(self, kind: str) -> None:
        with self._lock:
            self._in_a_row.update({ENDPOINT: 0, kind: 0})

    def failed(self, kind: str, error: LongshotError) -> str | None:
        """Count a failed request of this kind; when that leaves something out, say what, e.g.
        'the VLM failed 3 times in a row' or 'the VLM facts failed 3 times in a row'."""
        scope = kind if isinstance(error, ModelOutputError) else ENDPOINT
        with self._lock:
            if scope != ENDPOINT:
                self._in_a_row[ENDPOINT] = 0
            self._in_a_row[scope] = self._in_a_row.get(scope, 0) + 1
            if self._in_a_row[scope] < self.give_up_after or scope in self._left_out:
                return None
            self._left_out.add(scope)
        what = "the VLM" if scope == ENDPOINT else f"the VLM {kind}"
        return f"{what} failed {self.give_up_after} time{'s' if self.give_up_after > 1 else ''} in a row"
