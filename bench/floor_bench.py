"""gitops-bot bump against the "git floor" of issue 13, and the start-up of --help / environment.

The floor is the least a hand-written git script does to move one tag on a generated repository
(bench/clone_bench.py builds it: the flux/ tree and N commits of deploy history):

  git clone --depth 1 --filter=blob:none --sparse --single-branch --branch staging URL
  git sparse-checkout set flux/clusters/staging ; sed -i (one tag) ; git commit -a ; git push

Each gitops-bot given with --bot (default: the one on PATH) runs
`gitops-bot --repo URL bump --env staging --image kai-api-server=TAG` against the same repository.
Methods alternate within each round; one warm-up round is discarded; medians of --runs rounds.
Then each bot's start-up: `--help` and `environment --ref refs/heads/main`, --starts times each.

    python bench/floor_bench.py                                   # 20,000 commits, 5 runs
    python bench/floor_bench.py --bot main=/path/to/old/gitops-bot --bot new=.venv/bin/gitops-bot
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clone_bench import API, BOT, clean_env, git, make_repository, new_tag


def timed(argv: list[str], **kwargs: object) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=20_000, help="history length (default 20000)")
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--starts", type=int, default=20, help="start-up measurements per command (default 20)")
    parser.add_argument("--bot", action="append", metavar="NAME=PATH",
                        help="a gitops-bot executable to measure (repeatable; default the one on PATH)")
    args = parser.parse_args()
    bots = dict(b.split("=", 1) for b in args.bot) if args.bot else {"gitops-bot": BOT}

    tmp = Path(tempfile.mkdtemp(prefix="floor-bench-"))
    home = tmp / "home"
    home.mkdir()
    env = clean_env(home)
    rng = random.Random(13)  # noqa: S311 - reproducible data, not secrets
    try:
        make_repository(tmp, args.commits, env)
        url = (tmp / "kai-gitops.git").as_uri()
        count = git("rev-list", "--count", "refs/heads/staging", cwd=tmp / "kai-gitops.git", env=env)
        print(f"repository: {count} commits ({url})")

        def floor(run: int) -> float:
            clone = tmp / f"floor-{run}"
            started = time.perf_counter()
            git("clone", "-q", "--depth", "1", "--filter=blob:none", "--sparse", "--single-branch",
                "--branch", "staging", url, str(clone), cwd=tmp, env=env)
            git("sparse-checkout", "set", "flux/clusters/staging", cwd=clone, env=env)
            script = rf"s/^(\s+tag: \"?)[0-9a-f]{{7}}(\"?\s+# updated)/\1{new_tag(rng)}\2/"
            subprocess.run(["sed", "-i", "-E", script, API], cwd=clone, check=True)
            git("commit", "-q", "-a", "-m", "deploy(staging): kai-api-server", cwd=clone, env=env)
            git("push", "-q", "origin", "HEAD:refs/heads/staging", cwd=clone, env=env)
            elapsed = time.perf_counter() - started
            shutil.rmtree(clone)
            return elapsed

        def bump(path: str) -> float:
            return timed([path, "--repo", url, "bump", "--env", "staging",
                          "--image", f"kai-api-server={new_tag(rng)}"], env=env, cwd=tmp)

        results: dict[str, list[float]] = {"floor": [], **{name: [] for name in bots}}
        for run in range(args.runs + 1):  # round 0 warms the caches and is discarded
            times = {"floor": floor(run), **{name: bump(path) for name, path in bots.items()}}
            if run:
                for name, t in times.items():
                    results[name].append(t)
        base = statistics.median(results["floor"])
        print(f"\nbump, medians of {args.runs} alternating runs")
        print(f"{'method':<14} {'median':>8} {'/ floor':>8}   runs")
        for name, times in results.items():
            runs = ", ".join(f"{t:.3f}" for t in times)
            print(f"{name:<14} {statistics.median(times):>7.3f}s {statistics.median(times) / base:>7.2f}x   {runs}")

        print(f"\nstart-up, medians of {args.starts} alternating runs (no network, built-in config)")
        commands = {"--help": ["--help"], "environment": ["environment", "--ref", "refs/heads/main"]}
        starts: dict[tuple[str, str], list[float]] = {(b, c): [] for b in bots for c in commands}
        for _ in range(args.starts + 1):
            for (bot, command), times in starts.items():
                times.append(timed([bots[bot], *commands[command]], env=env, cwd=tmp))
        for (bot, command), times in starts.items():
            print(f"{bot:<14} {command:<12} {statistics.median(times[1:]) * 1000:>6.1f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
