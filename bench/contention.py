"""N concurrent `gitops-bot bump`s of different images against one branch (issue 13, point 4).

Each writer bumps its own image (`ghcr.io/acme/c00-svc-MMMM`) to its own tag with the default
settings (no --retries). Afterwards the remote is read: commits landed on the branch, images lost
(their file does not hold their tag), images duplicated (more than one commit names them in a
`Gitops-Bot-Image` trailer), exit codes, and how many re-plans the writers needed. A post-update
hook on the remote notes when each commit lands: the report gives the first landing (when the
crowd's first rounds are done) and the idle gaps between landings (the branch unused while the
writers left sleep). Then the same N bumps run one after another; the report gives the N-way wall
time over the sequential one.

Over file:// (the remote's path) or over the smart-HTTP server of tests/support/http_git.py.
Run through bench/issue13.py (`--only contention`).
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gitopsrepo as repo

ROOT = Path(__file__).resolve().parents[1]
IDLE_GAP = 0.4  # s: about four landings' time in a busy run


@dataclass(frozen=True)
class Outcome:
    transport: str
    writers: int
    commits: int
    lost: int
    duplicated: int
    failed: int
    replans_max: int
    replans_total: int
    first_landing_s: float
    idle_gaps: tuple[float, ...]  # between two landings, longer than IDLE_GAP
    concurrent_s: float
    sequential_s: float

    @property
    def ratio(self) -> float:
        return self.concurrent_s / self.sequential_s

    def line(self) -> str:
        return (f"{self.transport:<10} {self.writers:>3} writers: {self.commits} commits, {self.lost} lost, "
                f"{self.duplicated} duplicated, {self.failed} failed; re-plans max {self.replans_max}, "
                f"total {self.replans_total}; first landing {self.first_landing_s:.1f}s, "
                f"{len(self.idle_gaps)} idle gaps over {IDLE_GAP}s ({sum(self.idle_gaps):.1f}s); "
                f"{self.writers}-way {self.concurrent_s:.1f}s vs "
                f"{self.writers} sequential {self.sequential_s:.1f}s = {self.ratio:.2f}x")


@contextlib.contextmanager
def served(transport: str, bare: Path, env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """The URL to give --remote-url, and the environment the bot runs in."""
    if transport == "file":
        yield bare.as_uri(), env
        return
    sys.path.insert(0, str(ROOT))
    from tests.support.http_git import GitHttpServer  # the test suite's server, reused as it is

    token = "ghs_" + secrets.token_hex(16)
    with GitHttpServer(bare.parent, token) as server:
        yield server.url_for(bare.name), {**env, "GITOPS_BOT_TOKEN": token}


def _bump(bot: str, config: Path, url: str, writer: int, tag: str, retries: int | None = None) -> list[str]:
    extra = [] if retries is None else ["--retries", str(retries)]  # None: the bot's default
    return [bot, "--config", str(config), "--remote-url", url, *extra, "bump", "--env", "production",
            "--image", f"{repo.image(0, writer)}={tag}"]


def run(bot: str, source: Path, work: Path, transport: str, writers: int, env: dict[str, str],
        retries: int | None = None) -> Outcome:
    bare = repo.working_copy(source, work / "remote.git", env)
    landings = work / "landings"
    hook = bare / "hooks" / "post-update"
    hook.write_text(f"#!/bin/sh\ndate +%s.%N >> '{landings}'\n")
    hook.chmod(0o755)
    config = repo.write_config(work / "bench.gitops-bot.yaml")
    before = repo.git("rev-parse", repo.BRANCH, cwd=bare, env=env)
    with served(transport, bare, env) as (url, bot_env):
        tags = {w: f"c{w:03d}{secrets.token_hex(2)}" for w in range(writers)}
        started, wall_started = time.perf_counter(), time.time()  # the hook writes the clock's time
        procs = [subprocess.Popen(_bump(bot, config, url, w, tags[w], retries), env=bot_env, cwd=work, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for w in range(writers)]
        results = [(p.wait(), *p.communicate()) for p in procs]
        concurrent = time.perf_counter() - started
        for rc, _out, err in results:
            if rc != 0:
                print(f"  a writer failed (exit {rc}): {err.strip().splitlines()[-1:]}")
        replans = [err.count("re-planning") for _rc, _out, err in results]
        commits = int(repo.git("rev-list", "--count", f"{before}..{repo.BRANCH}", cwd=bare, env=env))
        trailers = repo.git("log", "--format=%(trailers:key=Gitops-Bot-Image,valueonly)",
                            f"{before}..{repo.BRANCH}", cwd=bare, env=env)
        named = Counter(line.split()[0] for line in trailers.splitlines() if line.strip())
        lost = sum(1 for w in range(writers) if f"tag: {tags[w]}\n" not in repo.git(
            "show", f"{repo.BRANCH}:{repo.release_path(0, w)}", cwd=bare, env=env) + "\n")
        duplicated = sum(n - 1 for n in named.values() if n > 1)
        landed = [float(t) for t in landings.read_text().split()]
        first = landed[0] - wall_started if landed else float("nan")
        gaps = tuple(b - a for a, b in itertools.pairwise(landed) if b - a > IDLE_GAP)

        started = time.perf_counter()
        for w in range(writers):
            proc = subprocess.run(_bump(bot, config, url, w, f"s{w:03d}{secrets.token_hex(2)}"), env=bot_env,
                                  cwd=work, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"sequential bump failed: {proc.stderr}")
        sequential = time.perf_counter() - started
    return Outcome(transport, writers, commits, lost, duplicated, sum(rc != 0 for rc, _, _ in results),
                   max(replans), sum(replans), first, gaps, concurrent, sequential)
