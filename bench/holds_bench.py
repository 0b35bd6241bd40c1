"""Bounded reading of `.gitops-bot/holds.yaml`: what a hostile file costs before it is refused, and
what an honest large one costs to read.

    python bench/holds_bench.py

Prints, for a "billion laughs" of 4..12 levels (9 aliases per level), the time until parse_holds
refuses it (or returns, for the small ones), and the time to read a holds file with 2,000 holds.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitops_bot.model.errors import ConfigError
from gitops_bot.planning.holds import parse_holds


def laughs(levels: int) -> bytes:
    doc = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    doc += "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, levels + 1))
    return (doc + "holds:\n  ghcr.io/kai-platform/kai-api-server: frozen\n").encode()


def timed(data: bytes, runs: int = 5) -> tuple[float, str]:
    times, outcome = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        try:
            outcome = f"{len(parse_holds(data))} hold(s)"
        except ConfigError as err:
            outcome = f"refused: {str(err).split(': ', 1)[1]}"
        times.append(time.perf_counter() - started)
    return statistics.median(times), outcome


def main() -> None:
    for levels in (4, 5, 6, 8, 10, 12):
        seconds, outcome = timed(laughs(levels))
        print(f"billion laughs, {levels:2d} levels ({9 ** (levels + 1):>15,} nodes expanded): "
              f"{seconds * 1000:7.2f} ms  {outcome}")
    honest = "holds:\n" + "".join(
        f"  ghcr.io/kai-platform/svc-{i}:\n    reason: frozen for release {i}\n    by: kai-ci\n"
        f"    at: '2026-01-02T03:04:05Z'\n" for i in range(2000))
    seconds, outcome = timed(honest.encode(), runs=3)
    print(f"honest file, {len(honest.encode()):,} bytes: {seconds * 1000:7.1f} ms  {outcome}")


if __name__ == "__main__":
    main()
