"""The run's time budget: `--timeout SECONDS` bounds every network operation and the run's network
work as a whole (docs/trust-model.md, "Faults")."""

from __future__ import annotations

import time
from dataclasses import dataclass

DEFAULT_TIMEOUT = 300


@dataclass(frozen=True)
class Deadline:
    """A point in time (monotonic clock) by which the run's network work must be done."""

    seconds: float
    end: float

    @classmethod
    def start(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        """Seconds left (0 or less: used up)."""
        return self.end - time.monotonic()

    def budget(self, cap: float | None = None) -> float:
        """A timeout for the next operation: what is left, at most `cap`, at least a moment."""
        left = self.left()
        return max(0.001, min(left, cap) if cap is not None else left)

    def describe(self) -> str:
        return f"--timeout {self.seconds:g}"
