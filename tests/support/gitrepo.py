"""Real git repositories for tests: a bare remote seeded with a Flux tree, and helpers to inspect it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.env import scrub_environ

ROOT = Path(__file__).resolve().parents[2]
FLUX = ROOT / "flux"
CHARTS = ROOT / "helm-charts"
IDENT = {
    "GIT_AUTHOR_NAME": "Seed", "GIT_AUTHOR_EMAIL": "seed@example.com",
    "GIT_COMMITTER_NAME": "Seed", "GIT_COMMITTER_EMAIL": "seed@example.com",
}


def git(*args: str, cwd: Path, env: Mapping[str, str] | None = None, check: bool = True) -> str:
    full_env = {**os.environ, **IDENT, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                **(env or {})}
    proc = subprocess.run(["git", *args], cwd=cwd, env=full_env, capture_output=True, text=True,
                          check=False, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


@dataclass
class Remote:
    """A bare repository reachable as file://, with a scratch clone to inspect and to push by hand."""

    bare: Path
    scratch: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def head(self, branch: str) -> str:
        return git("rev-parse", f"refs/heads/{branch}", cwd=self.bare)

    def count(self, branch: str) -> int:
        return int(git("rev-list", "--count", f"refs/heads/{branch}", cwd=self.bare))

    def show(self, branch: str, path: str) -> bytes:
        proc = subprocess.run(["git", "show", f"refs/heads/{branch}:{path}"], cwd=self.bare,
                              capture_output=True, check=True)
        return proc.stdout

    def message(self, rev: str) -> str:
        return git("log", "-1", "--format=%B", rev, cwd=self.bare)

    def refs(self) -> str:
        return git("for-each-ref", "--format=%(refname) %(objectname)", cwd=self.bare)

    def commit_file(self, branch: str, path: str, data: bytes, message: str = "manual edit") -> str:
        """Push a hand-made commit to `branch` (as a colleague would)."""
        git("fetch", "-q", "origin", branch, cwd=self.scratch)
        git("checkout", "-q", "-B", branch, "FETCH_HEAD", cwd=self.scratch)
        target = self.scratch / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        git("add", path, cwd=self.scratch)
        git("commit", "-q", "-m", message, cwd=self.scratch)
        git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=self.scratch)
        return git("rev-parse", "HEAD", cwd=self.scratch)


def make_remote(tmp: Path, tree: Path = FLUX, extra: Mapping[str, bytes] | None = None,
                branches: tuple[str, ...] = ("main", "staging")) -> Remote:
    """A bare remote whose branches all start from one commit holding `tree` as flux/ (the project's
    own tree comes with its helm-charts/), plus `extra`."""
    seed = tmp / "seed"
    seed.mkdir(parents=True)
    git("init", "-q", "-b", branches[0], cwd=seed)
    shutil.copytree(tree, seed / "flux")
    if tree == FLUX:  # the Kai chart's values files sit at the GitOps repository's root, beside flux/
        shutil.copytree(CHARTS, seed / "helm-charts")
    for rel, data in (extra or {}).items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_bytes(data)
    git("add", "-A", cwd=seed)
    git("commit", "-q", "-m", "initial Kai GitOps tree", cwd=seed)
    for branch in branches[1:]:
        git("branch", branch, cwd=seed)
    bare = tmp / "kai-gitops.git"
    git("clone", "-q", "--bare", str(seed), str(bare), cwd=tmp)
    git("config", "uploadpack.allowFilter", "true", cwd=bare)
    git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    git("config", "receive.denyCurrentBranch", "ignore", cwd=bare)
    scratch = tmp / "scratch"
    git("clone", "-q", bare.as_uri(), str(scratch), cwd=tmp)
    shutil.rmtree(seed)
    return Remote(bare, scratch)


def isolate_git(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ambient token or git configuration: a workspace sees only what the test gives it."""
    home.mkdir()
    scrub_environ(monkeypatch, home)
