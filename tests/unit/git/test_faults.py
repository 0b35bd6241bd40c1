"""Git faults at the workspace layer, with real git: a base force-pushed away under a shallow clone,
lock files, `--` before user-supplied URLs and paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_bot.git.locks import clear_stale_locks
from gitops_bot.git.runner import Git
from gitops_bot.git.workspace import PushOutcome, Workspace
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.errors import GitError
from tests.support.gitrepo import Remote, git, isolate_git

API = "flux/clusters/staging/releases/api-server.yaml"


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path / "home", monkeypatch)


def _commit_on(ws: Workspace, base: str, tag: bytes) -> str:
    data = ws.read_file(base, API)
    assert data is not None
    return ws.commit_files(base, {API: data.replace(b"tag: 1a2b3c4", b"tag: " + tag)}, "bump\n",
                           "gitops-bot <bot@example.com>")


def test_shallow_update_not_allowed_is_a_lost_race(remote: Remote) -> None:
    """Our shallow base was force-pushed away: the server cannot connect our commit to its history
    ("shallow update not allowed"). Like a lost race: fetch the new head and apply again."""
    base = remote.commit_file("staging", "notes.txt", b"one\n")
    with Workspace.open(remote.url, Credentials(), workdir=None, progress=False) as ws:
        assert ws.fetch("staging") == base
        made = _commit_on(ws, base, b"5d6e7f8")
        git("update-ref", "refs/heads/staging", "refs/heads/main", cwd=remote.bare)  # force-push
        refs = remote.refs()
        assert ws.push("gitops-bot/staging", lease="", source=made) is PushOutcome.RACE
        assert remote.refs() == refs
        new_base = ws.fetch("staging")
        made = _commit_on(ws, new_base, b"5d6e7f8")
        assert ws.push("gitops-bot/staging", lease="", source=made) is PushOutcome.PUSHED
    assert git("rev-parse", "refs/heads/gitops-bot/staging~1", cwd=remote.bare) == remote.head("main")


def test_a_lock_error_names_the_file(tmp_path: Path) -> None:
    git("init", "-q", str(tmp_path / "r"), cwd=tmp_path)
    lock = tmp_path / "r" / ".git" / "index.lock"
    lock.write_text("")
    (tmp_path / "r" / "f").write_text("x")
    with pytest.raises(GitError) as err:
        Git(tmp_path / "r").run("add", "--", "f")
    assert str(err.value) == (f"git add failed (exit 128): {lock} exists: another git command is running in "
                              f"this clone, or one was killed; remove the file if none is running")


def test_stale_locks_are_removed_and_held_ones_kept(tmp_path: Path) -> None:
    git_dir = tmp_path / ".git"
    (git_dir / "refs" / "heads").mkdir(parents=True)
    stale = [git_dir / "index.lock", git_dir / "shallow.lock", git_dir / "refs" / "heads" / "main.lock"]
    for lock in stale:
        lock.write_text("")
    clear_stale_locks(git_dir)
    assert [p for p in stale if p.exists()] == []
    held = git_dir / "shallow.lock"
    held.write_text("")
    with held.open("rb"), pytest.raises(GitError, match=rf"^{held} is held by process \d+: "):
        clear_stale_locks(git_dir)
    assert held.exists()


def test_a_url_that_looks_like_an_option_is_not_one(tmp_path: Path) -> None:
    """`git remote add origin --upload-pack=…` would be an option; after `--` it is a URL."""
    evil = f"--upload-pack=touch {tmp_path / 'pwned'};git-upload-pack"
    with Workspace.open(evil, Credentials(), workdir=None, progress=False) as ws:
        assert git("remote", "get-url", "origin", cwd=ws.root) == evil
        with pytest.raises(GitError):
            ws.fetch("staging")
    assert not (tmp_path / "pwned").exists()
