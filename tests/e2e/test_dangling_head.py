"""A remote whose HEAD names no branch (as `git init --bare` leaves it) still works: the branches the
configuration names stand in for the default branch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote, git, make_remote


@pytest.fixture
def dangling(tmp_path: Path) -> Remote:
    remote = make_remote(tmp_path / "dangling")
    git("symbolic-ref", "HEAD", "refs/heads/master", cwd=remote.bare)  # there is no master
    assert git("ls-remote", "--symref", remote.url, "HEAD", cwd=tmp_path, check=False) == ""
    return remote


def test_status_and_validate_use_the_configured_branches(dangling: Remote, run_bot: RunBot) -> None:
    status = run_bot("--repo", dangling.url, "--output", "json", "status")
    assert status.returncode == 0, status.stderr
    assert set(json.loads(status.stdout)["environments"]) == {"staging", "production"}
    validate = run_bot("--repo", dangling.url, "validate")
    assert validate.returncode == 0, validate.stderr


def test_bump_by_ref_works(dangling: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", dangling.url, "bump", "--ref", "refs/heads/staging", "--image",
                   "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert b"tag: 5d6e7f8" in dangling.show("staging", "flux/clusters/staging/releases/api-server.yaml")


@pytest.mark.parametrize("command", [("status", "--env", "nope"), ("validate", "--env", "nope"),
                                     ("bump", "--env", "nope", "--image", "kai-api-server=1"),
                                     ("history", "--env", "nope")])
def test_an_unknown_environment_is_exit_2_listing_the_known_ones(dangling: Remote, run_bot: RunBot,
                                                                 command: tuple[str, ...]) -> None:
    err = refused(run_bot, dangling, *command)
    assert "unknown environment 'nope' (known: production, staging)" in err
    assert "couldn't find remote ref" not in err


def test_no_configured_branch_at_all_names_the_missing_branch(tmp_path: Path, run_bot: RunBot) -> None:
    # A HEAD that names no branch gives no trusted place to read .gitops-bot.yaml from
    # (docs/trust-model.md): the defaults apply, with a warning, and the missing branch is named.
    remote = make_remote(tmp_path / "other", branches=("trunk",))
    git("symbolic-ref", "HEAD", "refs/heads/master", cwd=remote.bare)
    proc = run_bot("--repo", remote.url, "status")
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "gitops-bot: the GitOps repository's HEAD names no branch, so it has no default branch to read "
        ".gitops-bot.yaml from; using the built-in defaults (give --config to use a file)",
        f"gitops-bot: error: branch 'staging' does not exist in {remote.url}"]
