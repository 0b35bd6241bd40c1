"""hold and unhold end to end: a malformed holds file and unknown names are refused."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote, make_remote


def test_holds_file_that_is_not_a_mapping_is_exit_2(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={".gitops-bot/holds.yaml": b"- a\n"})
    stderr = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-api-server=z1")
    assert ".gitops-bot/holds.yaml: must be a mapping" in stderr


def test_unknown_names_in_unhold_and_canary_promote_are_exit_2(remote: Remote, run_bot: RunBot) -> None:
    # unhold is idempotent like hold: an image that is not held is exit 0 "not held", nothing written
    assert refused(run_bot, remote, "unhold", "--env", "staging", "--image", "nosuch", code=0) == ""
    assert "no HelmRelease with a canary block" in refused(run_bot, remote, "canary", "promote", "--env",
                                                           "staging", "--image", "nosuch")
