"""Do `history` and `rollback` scale with a long history of hand-made deploys?

Generates a bare repository with CLUSTERS clusters x RELEASES app-template HelmReleases and N
commits, each moving one release's tag in one cluster, with plain messages and no Gitops-Bot
trailers (so every deploy must be found by diffing), written with `git fast-import`. Then measures,
R times each, in one run of this script:

  bump       `gitops-bot bump --env c00 --image app-000=TAG --dry-run`
  history    `gitops-bot history --env c00 --limit 50`
  rollback   `gitops-bot rollback --env c00 --steps 3 --dry-run`

and prints the medians and the ratios history / bump (target <= 3) and rollback / bump (<= 2).

    python bench/history_bench.py                         # 20,000 commits, 50 x 200, 3 runs each
    python bench/history_bench.py --commits 2000 --runs 1
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

BOT = shutil.which("gitops-bot") or str(Path(sys.executable).with_name("gitops-bot"))
IDENT = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
         "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
RELEASE = """\
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: app-template
  values:
    controllers:
      {name}:
        containers:
          app:
            image:
              repository: ghcr.io/bench/{name}
              tag: {tag}
            env:
              TZ: Etc/UTC
            probes:
              liveness: &probes
                enabled: true
              readiness: *probes
    service:
      app:
        ports:
          http:
            port: 8080
"""


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT") and k not in (
        "GITOPS_BOT_TOKEN", "GITHUB_TOKEN")}
    env.update(IDENT, HOME=str(home), GIT_CONFIG_NOSYSTEM="1")
    return env


def git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
    return proc.stdout.decode().strip()


def new_tag(rng: random.Random) -> str:
    return f"1.{rng.randrange(100)}.{rng.randrange(1000)}"


def stream(commits: int, clusters: int, releases: int, seed: int = 5) -> Iterator[bytes]:
    """A fast-import stream: the whole tree, then `commits - 1` one-tag deploys on main."""
    rng = random.Random(seed)  # noqa: S311 - reproducible data, not secrets
    when = 1_700_000_000

    def data(text: str) -> bytes:
        raw = text.encode()
        return b"data %d\n%s\n" % (len(raw), raw)

    def path(cluster: int, release: int) -> str:
        return f"clusters/c{cluster:02d}/apps/app-{release:03d}/helmrelease.yaml"

    def commit(message: str, changed: dict[str, str]) -> bytes:
        nonlocal when
        when += 60
        out = [b"commit refs/heads/main\n", b"committer bench <bench@example.com> %d +0000\n" % when,
               data(message)]
        for name, text in changed.items():
            out.append(f"M 100644 inline {name}\n".encode())
            out.append(data(text))
        return b"".join(out) + b"\n"

    first = {path(c, r): RELEASE.format(name=f"app-{r:03d}", tag="1.0.0")
             for c in range(clusters) for r in range(releases)}
    for c in range(clusters):
        first[f"clusters/c{c:02d}/kustomization.yaml"] = "resources:\n" + "".join(
            f"  - apps/app-{r:03d}/helmrelease.yaml\n" for r in range(releases))
    yield commit("initial tree", first)
    for i in range(1, commits):
        c, r = rng.randrange(clusters), rng.randrange(releases)
        tag = new_tag(rng)
        yield commit(f"Update app-{r:03d} in c{c:02d} to {tag}\n\nhand-made commit {i}\n",
                     {path(c, r): RELEASE.format(name=f"app-{r:03d}", tag=tag)})


def make_repository(where: Path, args: argparse.Namespace, env: dict[str, str]) -> Path:
    bare = where / "fleet.git"
    git("init", "-q", "--bare", "-b", "main", str(bare), cwd=where, env=env)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=bare, env=env, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in stream(args.commits, args.clusters, args.releases):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    git("repack", "-a", "-d", "-q", cwd=bare, env=env)
    for key, value in (("uploadpack.allowFilter", "true"), ("uploadpack.allowAnySHA1InWant", "true")):
        git("config", key, value, cwd=bare, env=env)
    return bare


def config(url: str, clusters: int) -> str:
    envs = "".join(f"  c{c:02d}:\n    branch: main\n    path: clusters/c{c:02d}\n    source-refs: []\n"
                   f"    delivery: push\n" for c in range(clusters))
    return f"gitops:\n  repository: {url}\nenvironments:\n{envs}"


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commits", type=int, default=20_000, help="history length (default 20000)")
    parser.add_argument("--clusters", type=int, default=50, help="clusters (default 50)")
    parser.add_argument("--releases", type=int, default=200, help="HelmReleases per cluster (default 200)")
    parser.add_argument("--runs", type=int, default=3, help="measurements of each command (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="history-bench-"))
    home = tmp / "home"
    home.mkdir()
    env = clean_env(home)
    rng = random.Random(3)  # noqa: S311 - reproducible data, not secrets
    try:
        built = timed(lambda: make_repository(tmp, args, env))
        bare = tmp / "fleet.git"
        cfg = tmp / "gitops-bot.yaml"
        cfg.write_text(config(bare.as_uri(), args.clusters))
        count = git("rev-list", "--count", "main", cwd=bare, env=env)
        touching = git("rev-list", "--count", "main", "--", "clusters/c00", cwd=bare, env=env)
        print(f"repository: {count} commits ({touching} touch clusters/c00), "
              f"{args.clusters} x {args.releases} HelmReleases, built in {built:.1f} s")

        def bot(*command: str) -> Callable[[], None]:
            def run() -> None:
                proc = subprocess.run([BOT, "--config", str(cfg), *command], env=env, cwd=tmp,
                                      capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"gitops-bot {' '.join(command)} failed: {proc.stderr}")
            return run

        commands = {
            "bump --dry-run": lambda: bot("bump", "--env", "c00", "--image", f"app-000={new_tag(rng)}",
                                          "--dry-run")(),
            "history --limit 50": bot("history", "--env", "c00", "--limit", "50"),
            "rollback --steps 3 --dry-run": bot("rollback", "--env", "c00", "--steps", "3", "--dry-run"),
        }
        results: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, action in commands.items():
                results[name].append(timed(action))
        print(f"{'command':<30} {'median':>8}   runs")
        for name, times in results.items():
            print(f"{name:<30} {statistics.median(times):>7.2f}s   {', '.join(f'{t:.2f}' for t in times)}")
        bump = statistics.median(results["bump --dry-run"])
        history = statistics.median(results["history --limit 50"]) / bump
        rollback = statistics.median(results["rollback --steps 3 --dry-run"]) / bump
        print(f"history --limit 50 / bump --dry-run = {history:.2f} (target <= 3)")
        print(f"rollback --steps 3 --dry-run / bump --dry-run = {rollback:.2f} (target <= 2)")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
