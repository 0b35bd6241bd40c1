"""Where the token writes is decided by the caller, not by the repository's content
(docs/trust-model.md): the installed `gitops-bot` against bare remotes over file://."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote, git, make_remote

STAGING_API = "flux/clusters/staging/releases/api-server.yaml"
PROD_API = "flux/clusters/production/releases/api-server.yaml"
REPOINT = (b"environments:\n  staging:\n    branch: main\n    path: flux/clusters/production\n"
           b"    source-refs: [refs/heads/staging]\n    delivery: push\n")


def test_a_config_on_the_staging_branch_cannot_repoint_staging(remote: Remote, run_bot: RunBot) -> None:
    """Anyone who can push to staging commits a config that sends staging's writes to main: ignored,
    the write goes to staging as the default branch's (here: the built-in) config says."""
    remote.commit_file("staging", ".gitops-bot.yaml", REPOINT, "re-point staging at production")
    main = remote.head("main")
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["branch"], result["changes"][0]["file"]) == ("staging", STAGING_API)
    assert result["commit"] == remote.head("staging")
    assert remote.head("main") == main  # production untouched
    assert b"tag: 5d6e7f8" in remote.show("staging", STAGING_API)
    assert b"tag: 5d6e7f8" not in remote.show("main", PROD_API)


def test_the_default_branchs_config_is_the_one_used(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={
        ".gitops-bot.yaml": b"images:\n  api: ghcr.io/kai-platform/kai-api-server\n"})
    remote.commit_file("staging", ".gitops-bot.yaml", b"images:\n  api: ghcr.io/kai-platform/kai-coordinator\n")
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging", "--image", "api=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert [c["image"] for c in json.loads(proc.stdout)["changes"]] == ["ghcr.io/kai-platform/kai-api-server"]


def test_a_ref_is_mapped_by_the_default_branchs_config(remote: Remote, run_bot: RunBot) -> None:
    """`--ref` picks the environment by source-refs: those of staging's own file are not consulted."""
    remote.commit_file("staging", ".gitops-bot.yaml", REPOINT.replace(b"refs/heads/staging", b"refs/heads/*"))
    main = remote.head("main")
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--ref", "refs/heads/staging",
                   "--image", "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["branch"] == "staging"
    assert remote.head("main") == main


def test_the_repositorys_config_may_not_name_the_repository(tmp_path: Path, run_bot: RunBot) -> None:
    for body, key in ((b"gitops:\n  repository: attacker/evil\n", "gitops.repository"),
                      (b"gitops:\n  url: https://evil.example/x.git\n", "gitops.url"),
                      (b"gitops:\n  repository: kai-platform/kai-gitops\n  url: file:///tmp/x.git\n",
                       "gitops.repository")):
        remote = make_remote(tmp_path / key / str(len(body)), extra={".gitops-bot.yaml": body})
        stderr = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8")
        [message] = stderr.splitlines()
        assert f"config key '{key}' may not be set in the GitOps repository's own file" in message
        assert "--repo" in message


def test_the_callers_config_may_name_the_repository(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    config = tmp_path / "mine.yaml"
    config.write_text(f"gitops:\n  repository: {remote.url}\n")
    proc = run_bot("--config", str(config), "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert b"tag: 5d6e7f8" in remote.show("staging", STAGING_API)


def test_a_head_that_names_no_branch_reads_no_repository_config(tmp_path: Path, run_bot: RunBot) -> None:
    """As `git init --bare` leaves it: HEAD -> a branch that does not exist. No trusted branch to read
    the file from: the built-in defaults apply, with a warning."""
    remote = make_remote(tmp_path / "r", extra={".gitops-bot.yaml": REPOINT})
    git("symbolic-ref", "HEAD", "refs/heads/master", cwd=remote.bare)
    main = remote.head("main")
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert "HEAD names no branch" in proc.stderr
    assert json.loads(proc.stdout)["branch"] == "staging"
    assert remote.head("main") == main


# git is sent to a closed loopback port instead of the GitHub server, should a run get that far
CLOSED = {"GIT_CONFIG_COUNT": "2",
          "GIT_CONFIG_KEY_0": "url.http://127.0.0.1:9/.insteadOf", "GIT_CONFIG_VALUE_0": "https://github.com/",
          "GIT_CONFIG_KEY_1": "url.http://127.0.0.1:9/.insteadOf", "GIT_CONFIG_VALUE_1": "git@github.com:"}


def test_the_api_slug_must_match_the_clone_url(run_bot: RunBot) -> None:
    proc = run_bot("--repo", "kai-platform/kai-gitops", "--remote-url", "https://github.com/attacker/evil.git",
                   "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                   env={**CLOSED, "GITOPS_BOT_TOKEN": "ghs_slugCanary0123456789"})
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.splitlines()
    assert "not the repository kai-platform/kai-gitops" in line
    assert "ghs_" not in proc.stderr


def test_a_clone_url_may_spell_the_slug_differently(run_bot: RunBot) -> None:
    """Same repository, other spelling (case, .git, ssh form): not refused for the slug (the run then
    fails to connect to the closed port)."""
    for url in ("https://github.com/Kai-Platform/kai-gitops", "git@github.com:kai-platform/kai-gitops.git"):
        proc = run_bot("--repo", "kai-platform/kai-gitops", "--remote-url", url,
                       "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8", env=CLOSED)
        assert proc.returncode == 1, proc.stderr
        assert "remote unreachable" in proc.stderr
        assert "not the repository" not in proc.stderr
