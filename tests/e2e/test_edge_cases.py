"""Edge cases found in review: each one a behaviour users rely on."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote, make_remote

API = "flux/clusters/staging/releases/api-server.yaml"


def test_relative_workdir_is_reused(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    for tag in ("wd1", "wd2"):
        proc = run_bot("--repo", remote.url, "--workdir", "wd", "bump", "--env", "staging",
                       "--image", f"kai-api-server={tag}", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "wd" / ".git").is_dir()
    assert not (tmp_path / "wd" / "wd").exists()
    assert b"tag: wd2" in remote.show("staging", API)


def test_holds_file_that_is_not_a_mapping_is_exit_2(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={".gitops-bot/holds.yaml": b"- a\n"})
    stderr = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-api-server=z1")
    assert ".gitops-bot/holds.yaml: must be a mapping" in stderr


def test_duplicate_keys_are_refused_with_file_and_line(tmp_path: Path, run_bot: RunBot) -> None:
    path = "flux/clusters/staging/releases/extra.yaml"
    doc = (b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: extra\n"
           b"spec:\n  values:\n    image:\n      repository: ghcr.io/kai-platform/kai-extra\n"
           b"      tag: a\n      tag: b\n")
    remote = make_remote(tmp_path / "r", extra={path: doc})
    stderr = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-extra=c")
    assert f"{path}:10: invalid YAML: duplicate key 'tag'" in stderr


def test_tags_go_yaml_reads_as_numbers_are_quoted(remote: Remote, run_bot: RunBot) -> None:
    for tag in ("0X1F", "1e_3", "2024-1-1"):
        assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image",
                       f"kai-api-server={tag}").returncode == 0
        assert f'tag: "{tag}"'.encode() in remote.show("staging", API)


def test_a_flux_policy_moves_all_its_setters(tmp_path: Path, run_bot: RunBot) -> None:
    path = "flux/clusters/staging/config/settings.yaml"
    doc = (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n"
           b'  img: ghcr.io/acme/foo:1.0 # {"$imagepolicy": "flux-system:barpolicy"}\n'
           b'  t: "1.0" # {"$imagepolicy": "flux-system:barpolicy:tag"}\n')
    remote = make_remote(tmp_path / "r", extra={path: doc})
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "foo=2.0")
    assert proc.returncode == 0, proc.stderr
    assert remote.show("staging", path) == doc.replace(b"foo:1.0", b"foo:2.0").replace(b'"1.0"', b'"2.0"')


def test_canary_start_is_not_a_deploy(remote: Remote, run_bot: RunBot) -> None:
    assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image",
                   "kai-coordinator=b2").returncode == 0
    assert run_bot("--repo", remote.url, "canary", "start", "--env", "staging", "--image",
                   "kai-api-server=can1").returncode == 0
    message = remote.message("staging")
    assert "Gitops-Bot-Canary: start ghcr.io/kai-platform/kai-api-server can1" in message
    assert "Gitops-Bot-Image" not in message
    deploys = json.loads(run_bot("--repo", remote.url, "--output", "json", "history", "--env",
                                 "staging").stdout)["deploys"]
    assert [d["subject"] for d in deploys] == ["deploy(staging): kai-coordinator b2"]


def test_unknown_names_in_unhold_and_canary_promote_are_exit_2(remote: Remote, run_bot: RunBot) -> None:
    # unhold is idempotent like hold: an image that is not held is exit 0 "not held", nothing written
    assert refused(run_bot, remote, "unhold", "--env", "staging", "--image", "nosuch", code=0) == ""
    assert "no HelmRelease with a canary block" in refused(run_bot, remote, "canary", "promote", "--env",
                                                           "staging", "--image", "nosuch")


def test_docker_style_image_gets_a_hint(run_bot: RunBot, remote: Remote) -> None:
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "web:1.0")
    assert proc.returncode == 2
    assert "write NAME=TAG, here web=1.0" in proc.stderr


def test_json_error_document_on_stdout(run_bot: RunBot, remote: Remote) -> None:
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "qa", "--image", "x=1")
    assert proc.returncode == 2
    assert json.loads(proc.stdout) == {"error": "unknown environment 'qa' (known: production, staging)",
                                       "exit_code": 2}


def test_environment_command_writes_the_step_output(run_bot: RunBot, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_bot("environment", "--ref", "refs/heads/main", env={"GITHUB_OUTPUT": str(out)})
    assert proc.returncode == 0
    assert out.read_text() == "environment=production\n"


def test_dry_run_of_a_pull_request_environment_needs_no_token(remote: Remote, run_bot: RunBot) -> None:
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "--dry-run", "bump", "--env", "production", "--image",
                   "kai-api-server=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    assert "+      tag: 5d6e7f8" in proc.stdout
    assert remote.refs() == refs


def test_watch_fails_fast_when_its_action_cannot_run(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "watch", "--env", "production", "--check", "http://127.0.0.1:9/x",
                   "--checks", "30", "--interval", "10", "--on-failure", "rollback")
    assert proc.returncode == 2
    assert "need GITOPS_BOT_TOKEN" in proc.stderr


def test_watch_stays_degraded_when_its_action_fails(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "--output", "json", "watch", "--env", "staging",
                   "--check", "http://127.0.0.1:9/closed", "--checks", "1", "--interval", "0",
                   "--threshold", "1", "--on-failure", "rollback")
    assert proc.returncode == 3
    result = json.loads(proc.stdout)
    assert (result["health_status"], result["action"]) == ("degraded", "rollback failed")
    assert "the rollback action failed" in proc.stderr


def test_inside_actions_skips_are_warnings_and_stdout_stays_json(remote: Remote, run_bot: RunBot) -> None:
    assert run_bot("--repo", remote.url, "hold", "--env", "staging", "--image", "kai-api-server",
                   "--reason", "incident 7").returncode == 0
    token = "ghs_actions_token_abc"
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=9", "--image", "kai-coordinator=9",
                   env={"GITHUB_ACTIONS": "true", "GITOPS_BOT_TOKEN": token})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["skipped"][0]["reason"].startswith("held: incident 7")
    assert "::warning::staging: skipped ghcr.io/kai-platform/kai-api-server: held: incident 7" in proc.stderr
    assert proc.stderr.count(token) == 1  # only in the ::add-mask:: line
    assert f"::add-mask::{token}" in proc.stderr


def test_validate_with_problems_prints_exactly_one_json_document(tmp_path: Path, run_bot: RunBot) -> None:
    bad = b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: x\nspec: {}\n"
    remote = make_remote(tmp_path / "r", extra={"flux/clusters/staging/x.yaml": bad})
    proc = run_bot("--repo", remote.url, "--output", "json", "validate", "--env", "staging")
    assert proc.returncode == 2
    report = json.loads(proc.stdout)  # one document: the report, no error document after it
    assert report["valid"] is False
    assert report["environments"]["staging"]["problems"][0]["file"] == "flux/clusters/staging/x.yaml"


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


def test_rename_only_kustomize_entries_are_not_references(tmp_path: Path, run_bot: RunBot) -> None:
    kustomization = b"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n" \
                    b"images:\n  - name: redis\n    newName: mirror.example.com/bitnami/redis\n"
    remote = make_remote(tmp_path / "r", extra={"flux/clusters/staging/extra/kustomization.yaml": kustomization})
    proc = run_bot("--repo", remote.url, "--output", "json", "status", "--env", "staging")
    assert proc.returncode == 0, proc.stderr


def test_running_the_same_rollback_twice_changes_nothing_the_second_time(remote: Remote, run_bot: RunBot) -> None:
    for tag in ("good1", "bad2"):
        assert run_bot("--repo", remote.url, "bump", "--env", "staging", "--image",
                       f"kai-api-server={tag}").returncode == 0
    for _ in range(2):
        proc = run_bot("--repo", remote.url, "rollback", "--env", "staging", "--steps", "1")
        assert proc.returncode == 0, proc.stderr
        assert b"tag: good1" in remote.show("staging", API)
    assert "already up to date" in proc.stdout  # a result: on stdout
    assert "rolled back to" in remote.show("staging", ".gitops-bot/holds.yaml").decode()


def test_revert_takes_commit_shas_only(remote: Remote, run_bot: RunBot) -> None:
    assert "is not a commit SHA" in refused(run_bot, remote, "revert", "--env", "staging", "--", "HEAD~1")


def test_an_overridden_merge_key_in_image_values_is_edited_in_place(tmp_path: Path, run_bot: RunBot) -> None:
    """docs/editing.md: a scalar that overrides a merge key is edited in place (the anchor's own tag too,
    since it is the same image)."""
    path = "flux/clusters/staging/releases/merged.yaml"
    doc = (b"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: merged}\nspec:\n"
           b"  values:\n    base: &b {repository: ghcr.io/k/merged, tag: olda}\n"
           b"    image: {<<: *b, tag: override}\n")
    remote = make_remote(tmp_path / "r", extra={path: doc})
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "merged=new1")
    assert proc.returncode == 0, proc.stderr
    assert remote.show("staging", path) == doc.replace(b"olda", b"new1").replace(b"override", b"new1")
