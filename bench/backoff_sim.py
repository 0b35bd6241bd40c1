"""How the push back-off behaves with N writers on one branch, simulated (seconds, not minutes).

    python bench/backoff_sim.py                 # the product's backoff() against its variants
    python bench/backoff_sim.py --writers 32 64 128 --seeds 10

The model, calibrated on bench/issue13.py's contention runs (2 CPUs, file://, stop 22): each
writer's first round costs S1 s of CPU before its fetch (interpreter, imports) and C1 after it
(the environment's blobs, the plan, the commit); a re-plan costs C; a push P. CPU is shared by all
who want it (processor sharing over CORES). A push lands when nobody landed since the writer's
fetch; else the writer sleeps what the policy says and fetches again, seeing how many commits
landed since its last fetch. N bumps one after another take N x SEQUENTIAL. "re-plans 0.06 s"
is the same with the re-plan of stop 21 (0.03 s of CPU before the push, 0.03 s in it), before
re-plans stopped re-listing, re-reading and re-checking the files nobody changed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from gitops_bot.delivery.push import BACKOFF_BASE, BACKOFF_GROWTH, BACKOFF_ROUND_MAX, backoff

CORES, DT = 2, 0.002
SEQUENTIAL = 0.225  # s: one bump alone, measured
Policy = Callable[[int, random.Random, float, float], float]  # (attempt, rng, slot, busy) -> pause


def landed_share(landed: int, round_s: float, elapsed: float) -> float:
    """The share of `elapsed` in which the branch was taken by `landed` commits of a round each."""
    return landed * min(BACKOFF_ROUND_MAX, max(0.05, round_s)) / elapsed if elapsed > 0 else 1.0


def quiet_shrink(attempt: int, rng: random.Random, slot: float, busy: float) -> float:
    """Tried at stop 22, not kept: the product's window, shrunk (to a quarter at most) when the
    branch was taken less than 70% of the time since the writer's last fetch."""
    step = min(BACKOFF_ROUND_MAX, max(BACKOFF_BASE, slot))
    window = step * min(16, BACKOFF_GROWTH ** (attempt + 1)) * min(1.0, max(0.25, busy / 0.7))
    return rng.uniform(0, window)


@dataclass
class Costs:
    first_start: float = 0.08  # S1
    first_plan: float = 0.14  # C1
    replan: float = 0.016  # C
    push: float = 0.025  # P


@dataclass
class Writer:
    phase: str = "start"
    left: float = 0.0
    seen: int = 0  # the branch version it fetched
    fetched_at: float = 0.0
    busy: float = 1.0  # landed_share since its previous fetch
    slot: float = BACKOFF_BASE  # how long its last lost round took
    attempts: int = 0


def simulate(policy: Policy, writers: int, seed: int, costs: Costs) -> tuple[float, int]:
    """(wall time, most attempts of one writer)."""
    rng = random.Random(seed)  # noqa: S311 - a simulation, not secrets
    crowd = [Writer(left=costs.first_start) for _ in range(writers)]
    version, now, landed = 0, 0.0, 0
    while landed < writers:
        computing = sum(w.phase in ("start", "plan", "push") for w in crowd)
        share = min(1.0, CORES / computing) if computing else 1.0
        for w in crowd:
            if w.phase == "done":
                continue
            w.left -= DT if w.phase == "sleep" else DT * share
            if w.left > 0:
                continue
            if w.phase in ("start", "sleep"):  # a round begins: fetch
                if w.phase == "sleep":
                    w.busy = landed_share(version - w.seen, w.slot, now - w.fetched_at)
                w.left = costs.first_plan if w.phase == "start" else costs.replan
                w.phase, w.seen, w.fetched_at = "plan", version, now
            elif w.phase == "plan":
                w.phase, w.left = "push", costs.push
            elif w.seen == version:  # the push lands
                w.phase, version, landed = "done", version + 1, landed + 1
            else:
                w.slot = now - w.fetched_at
                w.phase, w.left = "sleep", policy(w.attempts, rng, w.slot, w.busy)
                w.attempts += 1
        now += DT
    return now, max(w.attempts for w in crowd)


def variant(rounds: int = 16, shortest: float = BACKOFF_BASE) -> Policy:
    """The product's back-off with another cap on the window, in rounds, or another shortest round."""
    def pause(attempt: int, rng: random.Random, slot: float, busy: float) -> float:
        step = min(BACKOFF_ROUND_MAX, max(shortest, slot))
        return rng.uniform(0, step * min(rounds, BACKOFF_GROWTH ** (attempt + 1)))
    return pause


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--seeds", type=int, default=8)
    args = parser.parse_args()
    product: Policy = lambda attempt, rng, slot, busy: backoff(attempt, rng, slot=slot)  # noqa: E731
    rows: list[tuple[str, Policy, Costs]] = [
        ("product", product, Costs()),
        ("product, re-plans 0.06 s", product, Costs(replan=0.03, push=0.03)),
        ("shortest round 0.2 s (stop 22)", variant(shortest=0.2), Costs()),
        ("cap 8 rounds", variant(8), Costs()),
        ("cap 32 rounds", variant(32), Costs()),
        ("quiet shrink (not kept)", quiet_shrink, Costs()),
    ]
    print("N-way wall time / N sequential bumps: median and worst of the seeds; most attempts of one writer")
    for name, policy, costs in rows:
        cells = []
        for n in args.writers:
            runs = [simulate(policy, n, seed, costs) for seed in range(args.seeds)]
            ratios = sorted(wall / (n * SEQUENTIAL) for wall, _ in runs)
            cells.append(f"{n:>3}: {statistics.median(ratios):.2f}x / {ratios[-1]:.2f}x, {max(a for _, a in runs):>2}")
        print(f"  {name:<31}" + "   ".join(cells), flush=True)


if __name__ == "__main__":
    main()
