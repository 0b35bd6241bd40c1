"""Issue 13 as one benchmark: gitops-bot against the git floor and a naive script, contention, scale.

    python bench/issue13.py --cache ~/.cache/gitops-bot-bench             # everything, ~15 min
    python bench/issue13.py --cache DIR --bot old=/path/to/gitops-bot --bot new=.venv/bin/gitops-bot --only bump
    python bench/issue13.py --cache DIR --only contention --writers 64
    python bench/issue13.py --cache DIR --only throughput

Repositories (bench/gitopsrepo.py, built once with `git fast-import` and kept in --cache): one
environment `production`: clusters/production/cluster-07 (200 releases) for the history shapes,
all of clusters/production for the 100,000-document one; 50 clusters x 200 HelmReleases with 20,000 and
with 200,000 commits of history, and 50 x 2,000 (100,000 documents) with 20,000 commits.

bump       on each repository, alternating, one warm-up round discarded, medians of --runs:
           floor  git clone --depth 1 --filter=blob:none --sparse --single-branch, sparse-checkout
                  set of the environment's path, sed one tag, commit, push (to a bare file:// remote)
           bot    gitops-bot --config C --remote-url file://... bump --env production --image N=T
                  (by default this tree installed as action.yml installs it, see action_install)
           naive  (20,000 commits only) git clone + sed + commit + push
           reuse  (20,000 commits only) the bot's bump with a --workdir kept from round to round
           then the ratios: bot/floor at 20k and 200k commits, the bot's 200k-vs-20k difference,
           bot/floor on 100,000 documents, naive/floor.
contention --writers concurrent bumps of different images (default settings) on one branch, over
           file:// and over tests/support/http_git.py's smart-HTTP server: commits landed, lost,
           duplicated, and the N-way wall time over N sequential bumps (bench/contention.py).
throughput plan+edit in documents/s on the 100,000-document environment, in this Python process
           (the gitops_bot that `python` imports, not --bot): the environment's blobs are read once,
           then what `bump` does with them is timed (prefilter, check or parse, plan, byte-exact
           splice and its verification); and bench/editor_bench.py's mixed tree (the image in 1% of
           the documents) at the same size.
startup    `--help` and `environment --ref refs/heads/main`, medians of --starts.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contention  # bench/ is not a package: found through the sys.path line above
import gitopsrepo as repo

SHAPES = {"20k": (50, 200, 20_000), "200k": (50, 200, 200_000), "100k-docs": (50, 2_000, 20_000)}
# The environment each shape's bump targets: one cluster (200 releases) of the 50 for the history
# shapes, as the floor (0.285 s) implies; the whole tree for the 100,000-document one.
ROOT = Path(__file__).resolve().parent.parent
TARGET = (7, 42)  # the release every round moves: cluster-07/releases/svc-0042.yaml
ENV_PATHS = {"20k": f"{repo.ENV_PATH}/cluster-07", "200k": f"{repo.ENV_PATH}/cluster-07",
             "100k-docs": repo.ENV_PATH}


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr}")
    return elapsed


class Methods:
    """The ways of moving one tag, each timed from nothing on disk to the push done."""

    def __init__(self, url: str, work: Path, env: dict[str, str], rng: random.Random, env_path: str):
        self.url, self.work, self.env, self.rng, self.env_path = url, work, env, rng, env_path
        self.config = repo.write_config(work / "bench.gitops-bot.yaml", env_path)
        self.path = repo.release_path(*TARGET)
        self.runs = 0

    def _sed(self, clone: Path) -> None:
        script = rf"s/^(\s+tag: ).*/\1{repo.new_tag(self.rng)}/"
        subprocess.run(["sed", "-i", "-E", script, self.path], cwd=clone, check=True)

    def _script(self, *clone_args: str, sparse: bool) -> float:
        self.runs += 1
        clone = self.work / f"clone-{self.runs}"
        started = time.perf_counter()
        repo.git("clone", "-q", *clone_args, "--branch", repo.BRANCH, self.url, str(clone),
                 cwd=self.work, env=self.env)
        if sparse:
            repo.git("sparse-checkout", "set", self.env_path, cwd=clone, env=self.env)
        self._sed(clone)
        repo.git("commit", "-q", "-a", "-m", "deploy(production): one tag", cwd=clone, env=self.env)
        repo.git("push", "-q", "origin", f"HEAD:refs/heads/{repo.BRANCH}", cwd=clone, env=self.env)
        elapsed = time.perf_counter() - started
        shutil.rmtree(clone)
        return elapsed

    def floor(self) -> float:
        return self._script("--depth", "1", "--filter=blob:none", "--sparse", "--single-branch", sparse=True)

    def naive(self) -> float:
        return self._script(sparse=False)

    def bot_bump(self, bot: str, *extra: str) -> float:
        return timed([bot, "--config", str(self.config), "--remote-url", self.url, *extra, "bump",
                      "--env", "production", "--image", f"{repo.image(*TARGET)}={repo.new_tag(self.rng)}"],
                     self.work, self.env)

    def reuse(self, bot: str) -> float:
        return self.bot_bump(bot, "--workdir", str(self.work / "reused"))


def server_seconds(trace: Path) -> float:
    """How long the remote's git-upload-pack and git-receive-pack ran, from a GIT_TRACE2_EVENT file:
    the server's work, which the floor and the bot both wait for."""
    argv: dict[str, list[str]] = {}
    total = 0.0
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "start":
            argv[event["sid"]] = event["argv"]
        elif event["event"] == "exit" and argv.get(event["sid"], [""])[0].endswith(("upload-pack", "receive-pack")):
            total += event["t_abs"]
    return total


def server_share(m: Methods, methods: dict[str, Callable[[], float]], runs: int) -> dict[str, tuple[float, float]]:
    """(median total, median server time) of each method over `runs` traced runs (not the timed ones:
    tracing costs time of its own)."""
    env, trace = m.env, m.work / "trace2.json"
    out = {}
    try:
        for name, method in methods.items():
            pairs = []
            for _ in range(runs):
                trace.unlink(missing_ok=True)
                m.env = {**env, "GIT_TRACE2_EVENT": str(trace)}
                pairs.append((method(), server_seconds(trace)))
            out[name] = (statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs))
    finally:
        m.env = env
    return out


def measure(methods: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Alternating rounds; round 0 warms the caches and is discarded."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for round_ in range(runs + 1):
        for name, method in methods.items():
            elapsed = method()
            if round_:
                times[name].append(elapsed)
    return times


def bump_section(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    rng = random.Random(13)  # noqa: S311 - reproducible data, not secrets
    medians: dict[tuple[str, str], float] = {}
    shares: dict[tuple[str, str], float] = {}  # (shape, method) -> traced time minus the server's
    for shape in args.shapes:
        source = repo.cached(args.cache, *SHAPES[shape], env)
        work = tmp / f"bump-{shape}"
        work.mkdir()
        url = repo.working_copy(source, work / "remote.git", env).as_uri()
        m = Methods(url, work, env, rng, ENV_PATHS[shape])
        methods: dict[str, Callable[[], float]] = {"floor": m.floor}
        methods |= {name: functools.partial(m.bot_bump, path) for name, path in args.bot}
        if shape == "20k":
            methods |= {"naive": m.naive, f"{args.bot[0][0]} --workdir": functools.partial(m.reuse, args.bot[0][1])}
        times = measure(methods, args.runs)
        print(f"\n{shape}: {'x'.join(map(str, SHAPES[shape][:2]))} releases, {SHAPES[shape][2]} commits, "
              f"environment {ENV_PATHS[shape]}; medians of {args.runs} alternating runs")
        for name, values in times.items():
            medians[(shape, name)] = statistics.median(values)
            print(f"  {name:<22} {medians[(shape, name)]:>7.3f}s   " + ", ".join(f"{t:.3f}" for t in values))
        if shape in ("20k", "200k"):
            traced = {"floor": m.floor} | {name: functools.partial(m.bot_bump, path) for name, path in args.bot}
            for name, (total, server) in server_share(m, traced, args.runs).items():
                shares[(shape, name)] = total - server
                print(f"  {name:<22} traced {total:.3f}s, of which the server's upload-pack/receive-pack "
                      f"{server:.3f}s, the rest {total - server:.3f}s")
    print("\nratios")
    for name, _path in args.bot:
        for shape in args.shapes:
            print(f"  {name + '/floor ' + shape:<28} {medians[(shape, name)] / medians[(shape, 'floor')]:.2f}")
        if {"20k", "200k"} <= set(args.shapes):
            diff = medians[("200k", name)] / medians[("20k", name)] - 1
            print(f"  {name + ' 200k vs 20k commits':<28} {diff * 100:+.1f}%")
            for who in ("floor", name):
                rest = shares[("200k", who)] / shares[("20k", who)] - 1
                print(f"  {who + ' 200k vs 20k, server aside':<28} {rest * 100:+.1f}%")
    if "20k" in args.shapes:
        reuse = f"{args.bot[0][0]} --workdir"
        print(f"  {'naive/floor 20k':<28} {medians[('20k', 'naive')] / medians[('20k', 'floor')]:.2f}")
        print(f"  {reuse + '/floor 20k':<28} {medians[('20k', reuse)] / medians[('20k', 'floor')]:.2f}")


def contention_section(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    # the bump section's checkouts (100,000 files a run on 100k-docs) may still be on their way to
    # the disk: flushed first, as hygiene. The slow contention runs after that section were not the
    # disk but the back-off's tail, the last writers asleep in long windows (bench/README.md, stop 23).
    os.sync()
    source = repo.cached(args.cache, 1, max(200, args.writers), 1_000, env)
    print(f"\ncontention: {args.writers} concurrent bumps of different images, default settings "
          f"({source.name})")
    for name, path in args.bot:
        for transport in ("file", "http"):
            work = tmp / f"contention-{name}-{transport}"
            work.mkdir()
            print(f"  {name}: " + contention.run(path, source, work, transport, args.writers, env).line())


def throughput_section(args: argparse.Namespace, env: dict[str, str]) -> None:
    import throughput

    source = repo.cached(args.cache, *SHAPES["100k-docs"], env)
    print(f"\nplan+edit throughput (this Python's gitops_bot), best of {args.runs}")
    for line in throughput.report(source, env, args.runs):
        print("  " + line)


def startup_section(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    config = repo.write_config(tmp / "startup.gitops-bot.yaml")
    commands = {"--help": ["--help"],
                "environment": ["--config", str(config), "environment", "--ref", "refs/heads/main"]}
    times: dict[tuple[str, str], list[float]] = {(b, c): [] for b, _ in args.bot for c in commands}
    bots = dict(args.bot)
    for _ in range(args.starts + 1):
        for (bot, command), values in times.items():
            values.append(timed([bots[bot], *commands[command]], tmp, env))
    print(f"\nstart-up, medians of {args.starts} alternating runs (the first discarded)")
    for (bot, command), values in times.items():
        print(f"  {bot:<14} {command:<12} {statistics.median(values[1:]) * 1000:>7.1f} ms")


def action_install(where: Path) -> str:
    """This tree's gitops-bot installed the way action.yml installs it: a fresh venv, the locked
    dependencies (hashes required, wheels only), the package copied in and compiled, a wrapper that
    runs the entry point. What users run is measured, not an editable development install (whose
    import hook costs tens of milliseconds at every start)."""
    venv = where / "action-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes",
                    "--no-deps", "--only-binary=:all:", "-r", str(ROOT / "requirements" / "action.lock")], check=True)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    shutil.copytree(ROOT / "gitops_bot", Path(site) / "gitops_bot", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([str(python), "-m", "compileall", "-q", str(Path(site) / "gitops_bot")], check=True)
    wrapper = venv / "bin" / "gitops-bot"
    wrapper.write_text(f'#!/bin/sh\nexec "{python}" -c "from gitops_bot.cli.start import cli; cli()" "$@"\n')
    wrapper.chmod(0o755)
    subprocess.run([str(wrapper), "--version"], check=True, capture_output=True)
    return str(wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, required=True, help="where the generated repositories are kept")
    parser.add_argument("--bot", action="append", metavar="[NAME=]PATH",
                        help="a gitops-bot executable to measure; repeat to compare (default: this tree, "
                             "installed as action.yml installs it, in a temporary venv)")
    parser.add_argument("--runs", type=int, default=5, help="measured rounds (default 5)")
    parser.add_argument("--writers", type=int, default=64, help="concurrent writers (default 64)")
    parser.add_argument("--starts", type=int, default=20, help="start-up measurements (default 20)")
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES),
                        help="repositories of the bump section (default all)")
    parser.add_argument("--only", nargs="+", choices=["bump", "contention", "throughput", "startup"],
                        default=["bump", "contention", "throughput", "startup"])
    args = parser.parse_args()
    args.cache = args.cache.expanduser().resolve()
    tmp = Path(tempfile.mkdtemp(prefix="issue13-bench-"))
    given = args.bot or [f"bot={action_install(tmp)}"]
    args.bot = [tuple(b.split("=", 1)) if "=" in b else (f"bot{i + 1}" if len(given) > 1 else "bot", b)
                for i, b in enumerate(given)]
    home = tmp / "home"
    home.mkdir()
    env = repo.clean_env(home)
    for name, path in args.bot:
        print(f"{name}: {path}")
    try:
        if "bump" in args.only:
            bump_section(args, tmp, env)
        if "contention" in args.only:
            contention_section(args, tmp, env)
        if "throughput" in args.only:
            throughput_section(args, env)
        if "startup" in args.only:
            startup_section(args, tmp, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
