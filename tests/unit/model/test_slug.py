"""`--repo` names a GitHub repository only when it is OWNER/NAME, never when it is a path."""

from __future__ import annotations

import pytest

from gitops_bot.model.slug import is_slug
from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote


@pytest.mark.parametrize("repo", ["kai-platform/kai-gitops", "o/r.git", "a/b_c.d-e", "x1/.github"])
def test_owner_name(repo: str) -> None:
    assert is_slug(repo)


@pytest.mark.parametrize("repo", ["../kai-gitops", "./a", "a/..", "a/.", "-a/b", "a/b/c", "a b/c", "/abs/x",
                                  "https://github.com/o/r", "git@github.com:o/r", "o/", "/r", "a_b/c"])
def test_not_owner_name(repo: str) -> None:
    assert not is_slug(repo)


def test_pull_request_delivery_refuses_a_repo_that_is_a_local_path(remote: Remote, run_bot: RunBot) -> None:
    """`--repo some/dir` that exists is cloned from disk: it must not be sent to the GitHub API."""
    local = remote.bare.parent / "kai" / "gitops"
    local.parent.mkdir()
    local.symlink_to(remote.bare)
    refs = remote.refs()
    proc = run_bot("--repo", "kai/gitops", "bump", "--env", "production", "--image", "kai-api-server=2.0.0",
                   cwd=remote.bare.parent, env={"GITOPS_BOT_TOKEN": "ghp_" + "x" * 36,
                                                "GITHUB_API_URL": "http://127.0.0.1:9"})
    assert proc.returncode == 2, proc.stderr
    assert "'kai/gitops' is a local path" in proc.stderr
    assert remote.refs() == refs
    assert refused(run_bot, remote, "status", code=0) == ""
