"""The processes' entry points (pyproject.toml's console scripts, action.yml's wrappers): Python's
cyclic garbage collector tuned for a short run, before anything else is imported; then the CLI.

A run loads its modules, builds its documents and plans, and ends. With the default thresholds the
collector walks those objects over and over while they load (a pass every 700 allocations, a full
one every 70,000): about 10 ms of a 0.22 s bump (docs/startup.md). Here the youngest generation is
collected every 100,000 allocations and the oldest about every 200 million: cycles are still freed,
rarely. The library itself sets nothing: importing gitops_bot elsewhere keeps the caller's collector.
"""

from __future__ import annotations

import gc
from typing import NoReturn

gc.set_threshold(100_000, 20, 100)


def cli() -> NoReturn:
    """`gitops-bot`."""
    from gitops_bot.cli.app import run

    run()


def action() -> NoReturn:
    """`gitops-bot-action`, the run step of action.yml."""
    from gitops_bot.cli.action_main import main

    main()
