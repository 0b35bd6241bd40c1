"""`gitops-bot bump` end to end: the installed command against a bare remote over file://."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote

API = "flux/clusters/staging/releases/api-server.yaml"
PROD_API = "flux/clusters/production/releases/api-server.yaml"


def test_staging_bump_moves_only_the_staging_branch(remote: Remote, run_bot: RunBot) -> None:
    main_before = remote.head("main")
    before = remote.show("staging", API)
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["changed"] is True
    assert result["commit"] == remote.head("staging")
    assert result["changes"] == [{
        "file": API, "line": result["changes"][0]["line"], "kind": "HelmRelease", "name": "api-server",
        "image": "ghcr.io/kai-platform/kai-api-server", "from": "1a2b3c4", "to": "5d6e7f8"}]
    assert remote.head("main") == main_before
    after = remote.show("staging", API)
    assert after == before.replace(b"tag: 1a2b3c4", b"tag: 5d6e7f8")
    message = remote.message("staging")
    assert message.splitlines()[0] == "deploy(staging): kai-api-server 5d6e7f8"
    assert "Gitops-Bot-Environment: staging" in message
    assert "Gitops-Bot-Image: ghcr.io/kai-platform/kai-api-server 1a2b3c4 -> 5d6e7f8" in message
    assert f"- kai-api-server: 1a2b3c4 -> 5d6e7f8 ({API}:{result['changes'][0]['line']})" in message


def test_ref_main_lands_on_production_branch_through_push_override(remote: Remote, run_bot: RunBot) -> None:
    staging_before = remote.head("staging")
    proc = run_bot("--repo", remote.url, "bump", "--ref", "refs/heads/main", "--delivery", "push",
                   "--image", "kai-api-server=1.10")
    assert proc.returncode == 0, proc.stderr
    assert remote.head("staging") == staging_before
    assert b'tag: "1.10"' in remote.show("main", PROD_API)  # quoted: YAML would read 1.10 as a float


def test_no_op_bump_makes_no_commit(remote: Remote, run_bot: RunBot) -> None:
    before = remote.head("staging")
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=1a2b3c4")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["changed"], result["commit"], result["changes"]) == (False, None, [])
    assert remote.head("staging") == before


def test_dry_run_prints_the_diff_and_writes_nothing(remote: Remote, run_bot: RunBot) -> None:
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                   "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert f"--- a/{API}" in proc.stdout
    assert "-      tag: 1a2b3c4" in proc.stdout and "+      tag: 5d6e7f8" in proc.stdout
    assert remote.refs() == refs


def test_tag_flag_digest_and_several_images(remote: Remote, run_bot: RunBot) -> None:
    digest = "sha256:" + "ab" * 32
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging", "--tag", "v2.1.0",
                   "--image", "kai-api-server", "--image", "kai-coordinator")
    assert proc.returncode == 0, proc.stderr
    assert {c["to"] for c in json.loads(proc.stdout)["changes"]} == {"v2.1.0"}
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", f"redis@{digest}",
                   "--allow-missing")
    # the redis values have no digest field: the digest is written inline in the tag (docs/editing.md)
    assert proc.returncode == 0, proc.stderr
    redis = "flux/clusters/staging/releases/redis.yaml"
    assert f"tag: 7.2.4-debian-12-r9@{digest}\n".encode() in remote.show("staging", redis)


@pytest.mark.parametrize("args", [
    ["--image", "kai-api-server=bad tag"],
    ["--image", "kai-api-server=a:b"],
    ["--image", "kai-api-server=-leading-dash"],
    ["--image", "kai-api-server@sha256:1234"],
    ["--image", "no-such-image=1.0.0"],
    ["--tag", "x#y", "--image", "kai-api-server"],
])
def test_bad_input_exits_2_and_leaves_remote_untouched(remote: Remote, run_bot: RunBot,
                                                       args: list[str]) -> None:
    stderr = refused(run_bot, remote, "bump", "--env", "staging", *args)
    assert len(stderr.strip().splitlines()) == 1


def test_unknown_environment_exits_2(remote: Remote, run_bot: RunBot) -> None:
    assert "unknown environment 'qa'" in refused(run_bot, remote, "bump", "--env", "qa", "--image",
                                                 "kai-api-server=1")


def test_malformed_yaml_exits_2_with_file_and_line(tmp_path: Path, run_bot: RunBot) -> None:
    from tests.support.gitrepo import make_remote

    broken = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [unclosed\n"
    remote = make_remote(tmp_path / "r", extra={"flux/clusters/staging/broken.yaml": broken})
    stderr = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8")
    assert "flux/clusters/staging/broken.yaml:" in stderr


def test_allow_missing_skips_unknown_image_and_applies_the_rest(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging", "--allow-missing",
                   "--image", "ghost=1.0", "--image", "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [s["image"] for s in result["skipped"]] == ["ghost"]
    assert len(result["changes"]) == 1


def test_semver_policy_refuses_downgrade(tmp_path: Path, remote: Remote, run_bot: RunBot) -> None:
    config = tmp_path / "policy.yaml"
    config.write_text("policy: semver\n")
    base = ["--repo", remote.url, "--config", str(config), "bump", "--env", "staging"]
    assert run_bot(*base, "--image", "kai-api-server=v1.4.0").returncode == 0
    head = remote.head("staging")
    proc = run_bot(*base, "--image", "kai-api-server=v1.3.9")
    assert proc.returncode == 2
    assert "downgrade" in proc.stderr
    assert remote.head("staging") == head
    assert run_bot(*base, "--image", "kai-api-server=v1.3.9", "--allow-downgrade").returncode == 0


def test_aliases_and_config_from_the_gitops_repository(tmp_path: Path, run_bot: RunBot) -> None:
    from tests.support.gitrepo import make_remote

    cfg = b"images:\n  api: ghcr.io/kai-platform/kai-api-server\n  coord: ghcr.io/kai-platform/kai-coordinator\n"
    remote = make_remote(tmp_path / "r", extra={".gitops-bot.yaml": cfg})
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging", "--tag", "5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert sorted(c["name"] for c in json.loads(proc.stdout)["changes"]) == ["api-server", "coordinator"]


def test_invalid_config_in_repository_exits_2_naming_the_key(tmp_path: Path, run_bot: RunBot) -> None:
    from tests.support.gitrepo import make_remote

    remote = make_remote(tmp_path / "r", extra={".gitops-bot.yaml": b"environments:\n  staging:\n    path: x\n"})
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "api=1")
    assert proc.returncode == 2
    assert "environments.staging.branch" in proc.stderr


def test_global_options_after_the_command_name(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8", "--repo", remote.url,
                   "--output", "json", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dry_run"] is True


def test_environment_command_reads_only_config(run_bot: RunBot) -> None:
    assert run_bot("environment", "--ref", "refs/heads/main").stdout.strip() == "production"
    assert run_bot("environment", "--ref", "refs/heads/staging").stdout.strip() == "staging"
    proc = run_bot("environment", "--ref", "refs/heads/feature/x")
    assert proc.returncode == 2


def test_github_actions_outputs_and_summary(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    out, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                   env={"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary),
                        "GITHUB_SHA": "c0ffee" * 6 + "c0ff", "GITHUB_REPOSITORY": "kai-platform/kai",
                        "GITHUB_RUN_ID": "42", "GITHUB_SERVER_URL": "https://github.com"})
    assert proc.returncode == 0, proc.stderr
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert outputs["changed"] == "true"
    assert outputs["commit-sha"] == remote.head("staging")
    assert outputs["environment"] == "staging"
    assert "| kai-api-server | `1a2b3c4` | `5d6e7f8` |" in summary.read_text()
    message = remote.message("staging")
    assert "Gitops-Bot-Source: kai-platform/kai@" + "c0ffee" * 6 + "c0ff" in message
    assert "Gitops-Bot-Run: https://github.com/kai-platform/kai/actions/runs/42" in message


def test_relative_workdir_is_reused(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    for tag in ("wd1", "wd2"):
        proc = run_bot("--repo", remote.url, "--workdir", "wd", "bump", "--env", "staging",
                       "--image", f"kai-api-server={tag}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "wd" / ".git").is_dir()
    assert not (tmp_path / "wd" / "wd").exists()
    assert b"tag: wd2" in remote.show("staging", API)


def test_a_users_own_checkout_is_never_taken_as_workdir(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    from tests.support.gitrepo import git

    mine = tmp_path / "mine"
    mine.mkdir()
    git("init", "-q", cwd=mine)
    (mine / "notes.txt").write_text("precious\n")
    proc = run_bot("--repo", remote.url, "--workdir", str(mine), "--dry-run", "bump", "--env", "staging",
                   "--image", "kai-api-server=abc1234")
    assert proc.returncode == 2
    assert "did not make" in proc.stderr
    assert (mine / "notes.txt").read_text() == "precious\n"


def test_docker_style_image_gets_a_hint(run_bot: RunBot, remote: Remote) -> None:
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "web:1.0")
    assert proc.returncode == 2
    assert "write NAME=TAG, here web=1.0" in proc.stderr


def test_dry_run_of_a_pull_request_environment_needs_no_token(remote: Remote, run_bot: RunBot) -> None:
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "--dry-run", "bump", "--env", "production", "--image",
                   "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert "+      tag: 5d6e7f8" in proc.stdout
    assert remote.refs() == refs


def test_tags_go_yaml_reads_as_numbers_are_quoted(remote: Remote, run_bot: RunBot) -> None:
    for tag in ("0X1F", "1e_3", "2024-1-1"):
        assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image",
                       f"kai-api-server={tag}").returncode == 0
        assert f'tag: "{tag}"'.encode() in remote.show("staging", API)
