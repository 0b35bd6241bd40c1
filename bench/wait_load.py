"""How many GitHub API requests does `--wait` make while Flux has not reported yet?

Runs the real polling loop (gitops_bot.github.wait.wait_for) against a reader that always answers
"pending", with a clock that advances instead of sleeping, and prints for each timeout the number
of polls, the API requests (statuses + check runs per poll) and the longest pause between polls.
An installation token may make 5,000 requests an hour; the default wait stays far below.

    python bench/wait_load.py                 # timeouts 60, 600, 3600, 21600 s
    python bench/wait_load.py --timeout 900
"""

from __future__ import annotations

import argparse

from gitops_bot.github.statuses import Report
from gitops_bot.github.wait import Clock, WaitRequest, wait_for


class Pending:
    def __init__(self) -> None:
        self.requests = 0

    def reports(self, sha: str) -> list[Report]:
        self.requests += 2  # one combined-status page, one check-runs page
        return [Report("kustomization/apps/1", "pending", "Progressing", sha)]

    def contains(self, base: str, head: str) -> bool:
        self.requests += 1
        return True


def measure(timeout: float) -> tuple[int, int, float]:
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        now[0] += seconds

    reader = Pending()
    outcome = wait_for(reader, WaitRequest("a" * 40, ("kustomization/*",), timeout), lambda: "a" * 40,
                       lambda _line: None, Clock(lambda: now[0], sleep))
    assert outcome.state == "timeout"
    return len(pauses) + 1, reader.requests, max(pauses, default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, action="append")
    args = parser.parse_args()
    print(f"{'timeout s':>10} {'polls':>6} {'requests':>9} {'max pause s':>12}")
    for timeout in args.timeout or [60, 600, 3600, 21600]:
        polls, requests, pause = measure(timeout)
        print(f"{timeout:>10g} {polls:>6} {requests:>9} {pause:>12.1f}")


if __name__ == "__main__":
    main()
