"""GitError carries what failed as fields: the command (secrets redacted), the exit code, stderr;
its message stays the one line users see. Timeouts are fields of the runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_bot.git.runner import Git, Timeouts
from gitops_bot.git.workspace import Workspace
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.errors import GitError
from tests.support.gitrepo import Remote, git, isolate_git
from tests.support.hung import hung_server

TOKEN = "ghs_gitErrorFieldsToken0123456789"


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path / "home", monkeypatch)


def test_a_failed_command_carries_its_argv_exit_code_and_stderr_redacted(tmp_path: Path) -> None:
    git("init", "-q", str(tmp_path / "r"), cwd=tmp_path)
    runner = Git(tmp_path / "r", Credentials(TOKEN, "GITHUB_TOKEN"))
    with pytest.raises(GitError) as caught:
        runner.run("rev-parse", "--verify", f"refs/heads/{TOKEN}")
    err = caught.value
    assert err.command == ("git", "rev-parse", "--verify", "refs/heads/***")
    assert err.returncode == 128
    assert "Needed a single revision" in err.stderr
    assert TOKEN not in str(err) and TOKEN not in err.stderr
    assert str(err) == "git rev-parse failed (exit 128): Needed a single revision"


def test_a_missing_branch_keeps_its_message_and_carries_the_fetch(remote: Remote) -> None:
    with Workspace.open(remote.url, Credentials(), workdir=None, progress=False) as ws, \
            pytest.raises(GitError) as caught:
        ws.fetch("nope")
    assert str(caught.value) == f"branch 'nope' does not exist in {remote.url}"
    assert caught.value.command[:2] == ("git", "fetch")
    assert caught.value.command[-1] == "+refs/heads/nope:refs/remotes/origin/nope"
    assert caught.value.returncode == 128
    assert "couldn't find remote ref" in caught.value.stderr


def test_the_network_timeout_is_a_field_of_the_runner(tmp_path: Path) -> None:
    with hung_server() as url, Workspace.open(url, Credentials(), workdir=None, progress=False,
                                              timeouts=Timeouts(network=0.5)) as ws:
        assert ws.git.timeouts == Timeouts(network=0.5, local=120.0)
        with pytest.raises(GitError, match=r"timed out after 0\.5 s$") as caught:
            ws.fetch("staging")
    assert caught.value.command[:2] == ("git", "fetch")
    assert caught.value.returncode is None  # killed: it never exited on its own
