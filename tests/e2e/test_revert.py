"""revert end to end: what it accepts as the commit to revert."""

from __future__ import annotations

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote


def test_revert_takes_commit_shas_only(remote: Remote, run_bot: RunBot) -> None:
    assert "is not a commit SHA" in refused(run_bot, remote, "revert", "--env", "staging", "--", "HEAD~1")
