"""The run's time budget: `--timeout SECONDS` bounds every network operation and the run's network
work as a whole (docs/trust-model.md, "Faults").

The budget is spent only by network work (git commands that talk to the remote, push back-offs),
not by the waiting a command is asked to do (`watch` rounds), so a rollback at the end of a long
health gate still has its full budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

DEFAULT_TIMEOUT = 300


class TimeBudget:
    """Seconds of network work a run may still spend."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.spent = 0.0

    def left(self) -> float:
        """Seconds left (0 or less: used up)."""
        return self.seconds - self.spent

    def cap(self, seconds: float) -> float:
        """A timeout for one operation: at most `seconds`, at most what is left, at least a moment."""
        return max(0.001, min(seconds, self.left()))

    @contextmanager
    def spending(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.spent += time.monotonic() - started

    def sleep(self, seconds: float) -> None:
        """Wait (a back-off), at most what is left, and count it."""
        with self.spending():
            time.sleep(max(0.0, min(seconds, self.left())))

    def describe(self) -> str:
        return f"--timeout {self.seconds:g} s"
