"""revert, rollback, history and holds, end to end against a bare remote (from shallow clones)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote, git

REL = "flux/clusters/staging/releases"


def bump(run_bot: RunBot, remote: Remote, *images: str) -> str:
    args = [a for image in images for a in ("--image", image)]
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging", *args)
    assert proc.returncode == 0, proc.stderr
    return str(json.loads(proc.stdout)["commit"])


def tags(run_bot: RunBot, remote: Remote) -> dict[str, str]:
    proc = run_bot("--repo", remote.url, "--output", "json", "status", "--env", "staging")
    assert proc.returncode == 0, proc.stderr
    return {k.rsplit("/", 1)[-1]: v for k, v in json.loads(proc.stdout)["environments"]["staging"].items()}


@pytest.fixture
def three_deploys(remote: Remote, run_bot: RunBot) -> tuple[str, list[str]]:
    initial = remote.head("staging")
    commits = [bump(run_bot, remote, "kai-api-server=a1"), bump(run_bot, remote, "kai-coordinator=b2"),
               bump(run_bot, remote, "kai-point-cloud=c3")]
    return initial, commits


def test_history_lists_deploys_newest_first(remote: Remote, run_bot: RunBot,
                                            three_deploys: tuple[str, list[str]]) -> None:
    _, commits = three_deploys
    proc = run_bot("--repo", remote.url, "--output", "json", "history", "--env", "staging")
    assert proc.returncode == 0, proc.stderr
    deploys = json.loads(proc.stdout)["deploys"]
    assert [d["commit"] for d in deploys] == commits[::-1]
    assert deploys[0]["changes"] == [{"image": "ghcr.io/kai-platform/kai-point-cloud", "from": "1a2b3c4",
                                      "to": "c3"}]
    assert deploys[2]["subject"] == "deploy(staging): kai-api-server a1"
    assert json.loads(run_bot("--repo", remote.url, "--output", "json", "history", "--env", "staging",
                              "--limit", "1").stdout)["deploys"][0]["commit"] == commits[2]
    text = run_bot("--repo", remote.url, "history", "--env", "staging").stdout
    assert "1a2b3c4 -> c3" in text.splitlines()[1]


def test_history_includes_hand_made_commits_by_diff(remote: Remote, run_bot: RunBot) -> None:
    path = f"{REL}/coordinator.yaml"
    data = remote.show("staging", path).replace(b'tag: "1a2b3c4"', b'tag: "hand1"')
    sha = remote.commit_file("staging", path, data, "hotfix coordinator by hand")
    deploys = json.loads(run_bot("--repo", remote.url, "--output", "json", "history", "--env",
                                 "staging").stdout)["deploys"]
    assert deploys[0]["commit"] == sha
    assert deploys[0]["changes"] == [{"image": "ghcr.io/kai-platform/kai-coordinator", "from": "1a2b3c4",
                                      "to": "hand1"}]


def test_revert_of_the_middle_deploy_restores_only_its_image(remote: Remote, run_bot: RunBot,
                                                             three_deploys: tuple[str, list[str]]) -> None:
    _, commits = three_deploys
    proc = run_bot("--repo", remote.url, "--output", "json", "revert", commits[1][:10], "--env", "staging")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [(c["image"].rsplit("/", 1)[-1], c["from"], c["to"]) for c in result["changes"]] == [
        ("kai-coordinator", "b2", "1a2b3c4")]
    now = tags(run_bot, remote)
    assert (now["kai-api-server"], now["kai-coordinator"], now["kai-point-cloud"]) == ("a1", "1a2b3c4", "c3")
    message = remote.message("staging")
    assert message.startswith("revert(staging): deploy(staging): kai-coordinator b2")
    assert f"Gitops-Bot-Reverts: {commits[1]}" in message


def test_rollback_to_initial_keeps_non_image_edits(remote: Remote, run_bot: RunBot,
                                                   three_deploys: tuple[str, list[str]]) -> None:
    initial, _ = three_deploys
    path = f"{REL}/api-server.yaml"
    edited = remote.show("staging", path).replace(b"replicaCount: 2", b"replicaCount: 5", 1)
    assert b"replicaCount: 5" in edited
    remote.commit_file("staging", path, edited, "scale api-server")
    proc = run_bot("--repo", remote.url, "--output", "json", "rollback", "--env", "staging", "--to", initial)
    assert proc.returncode == 0, proc.stderr
    assert {c["to"] for c in json.loads(proc.stdout)["changes"]} == {"1a2b3c4"}
    assert set(tags(run_bot, remote).values()) <= {"1a2b3c4", "7.2.4-debian-12-r9"}
    assert b"replicaCount: 5" in remote.show("staging", path)
    assert f"Gitops-Bot-Rollback-To: {initial}" in remote.message("staging")


def test_rollback_steps_two_equals_state_two_deploys_back(remote: Remote, run_bot: RunBot,
                                                          three_deploys: tuple[str, list[str]]) -> None:
    _, commits = three_deploys
    proc = run_bot("--repo", remote.url, "rollback", "--env", "staging", "--steps", "2", "--no-hold")
    assert proc.returncode == 0, proc.stderr
    now = tags(run_bot, remote)
    assert (now["kai-api-server"], now["kai-coordinator"], now["kai-point-cloud"]) == ("a1", "1a2b3c4",
                                                                                       "1a2b3c4")
    assert f"Gitops-Bot-Rollback-To: {commits[0]}" in remote.message("staging")
    assert b".gitops-bot/holds.yaml" not in git("ls-tree", "-r", "--name-only", "staging",
                                                cwd=remote.bare).encode()


def test_rollback_holds_images_until_unhold(remote: Remote, run_bot: RunBot,
                                            three_deploys: tuple[str, list[str]]) -> None:
    assert run_bot("--repo", remote.url, "rollback", "--env", "staging", "--steps", "1").returncode == 0
    holds = remote.show("staging", ".gitops-bot/holds.yaml").decode()
    assert "ghcr.io/kai-platform/kai-point-cloud:" in holds
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-point-cloud=c3", "--image", "kai-api-server=a2")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [s["image"] for s in result["skipped"]] == ["ghcr.io/kai-platform/kai-point-cloud"]
    assert "rolled back" in result["skipped"][0]["reason"]
    assert tags(run_bot, remote)["kai-point-cloud"] == "1a2b3c4"
    assert run_bot("--repo", remote.url, "unhold", "--env", "staging", "--image",
                   "kai-point-cloud").returncode == 0
    bump(run_bot, remote, "kai-point-cloud=c3")
    assert tags(run_bot, remote)["kai-point-cloud"] == "c3"


def test_hold_and_force(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "hold", "--env", "staging", "--image", "kai-api-server",
                   "--reason", "incident 42")
    assert proc.returncode == 0, proc.stderr
    assert "incident 42" in remote.show("staging", ".gitops-bot/holds.yaml").decode()
    proc = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                   "--image", "kai-api-server=z9")
    assert json.loads(proc.stdout)["changed"] is False
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-api-server=z9", "--force")
    assert proc.returncode == 0
    assert tags(run_bot, remote)["kai-api-server"] == "z9"


def test_conflicting_revert_exits_1_and_leaves_remote_untouched(remote: Remote, run_bot: RunBot) -> None:
    first = bump(run_bot, remote, "kai-api-server=a1")
    bump(run_bot, remote, "kai-api-server=a2")
    assert f"{REL}/api-server.yaml" in refused(run_bot, remote, "revert", first, "--env", "staging", code=1)


def test_revert_unknown_sha_exits_2(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("--repo", remote.url, "revert", "0123456789abcdef", "--env", "staging")
    assert proc.returncode == 2
    assert "not on branch" in proc.stderr


def test_revert_of_a_merge_commit(remote: Remote, run_bot: RunBot) -> None:
    scratch = remote.scratch
    git("fetch", "-q", "origin", "main", cwd=scratch)
    git("checkout", "-q", "-B", "feature", "FETCH_HEAD", cwd=scratch)
    path = scratch / "flux/clusters/production/releases/coordinator.yaml"
    path.write_bytes(path.read_bytes().replace(b'tag: "0f9e8d7"', b'tag: "m1"'))
    git("commit", "-qam", "coordinator m1", cwd=scratch)
    git("checkout", "-q", "-B", "main", "FETCH_HEAD", cwd=scratch)
    other = scratch / "flux/clusters/production/releases/point-cloud.yaml"
    other.write_bytes(other.read_bytes().replace(b"replicaCount:", b"replicaCount:", 1) + b"# touched\n")
    git("commit", "-qam", "unrelated", cwd=scratch)
    git("merge", "-q", "--no-ff", "-m", "Merge pull request #7 from kai-platform/gitops-bot/production",
        "feature", cwd=scratch)
    merge = git("rev-parse", "HEAD", cwd=scratch)
    git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=scratch)
    proc = run_bot("--repo", remote.url, "--output", "json", "revert", merge, "--env", "production",
                   "--delivery", "push")
    assert proc.returncode == 0, proc.stderr
    assert b'tag: "0f9e8d7"' in remote.show("main", "flux/clusters/production/releases/coordinator.yaml")
    assert b"# touched" in remote.show("main", "flux/clusters/production/releases/point-cloud.yaml")


def test_everything_works_from_a_shallow_clone(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    scratch = remote.scratch
    git("fetch", "-q", "origin", "staging", cwd=scratch)
    git("checkout", "-q", "-B", "staging", "FETCH_HEAD", cwd=scratch)
    for i in range(120):
        git("commit", "-q", "--allow-empty", "-m", f"unrelated change {i}", cwd=scratch)
    git("push", "-q", "origin", "HEAD:refs/heads/staging", cwd=scratch)
    first = bump(run_bot, remote, "kai-api-server=a1")
    bump(run_bot, remote, "kai-coordinator=b2")
    workdir = tmp_path / "work"
    proc = run_bot("--repo", remote.url, "--workdir", str(workdir), "revert", first, "--env", "staging")
    assert proc.returncode == 0, proc.stderr
    assert git("rev-parse", "--is-shallow-repository", cwd=workdir) == "true"
    assert int(git("rev-list", "--count", "refs/remotes/origin/staging", cwd=workdir)) < remote.count("staging")
    assert tags(run_bot, remote)["kai-api-server"] == "1a2b3c4"
    proc = run_bot("--repo", remote.url, "--workdir", str(workdir), "--output", "json", "history",
                   "--env", "staging", "--limit", "3")
    assert [d["subject"].split(":")[0] for d in json.loads(proc.stdout)["deploys"]] == [
        "revert(staging)", "deploy(staging)", "deploy(staging)"]



def test_holds_name_the_github_actor_of_the_run(remote: Remote, run_bot: RunBot) -> None:
    """GITHUB_ACTOR reaches the holds that hold and rollback write, through the run context main() reads once."""
    proc = run_bot("--repo", remote.url, "hold", "--env", "staging", "--image", "kai-coordinator",
                   "--reason", "freeze", env={"GITHUB_ACTOR": "octo-holder"})
    assert proc.returncode == 0, proc.stderr
    bumped = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8")
    assert bumped.returncode == 0, bumped.stderr
    proc = run_bot("--repo", remote.url, "rollback", "--env", "staging", "--steps", "1",
                   env={"GITHUB_ACTOR": "octo-roller"})
    assert proc.returncode == 0, proc.stderr
    holds = yaml.safe_load(remote.show("staging", ".gitops-bot/holds.yaml"))["holds"]
    assert holds["ghcr.io/kai-platform/kai-coordinator"]["by"] == "octo-holder"
    rolled = holds["ghcr.io/kai-platform/kai-api-server"]
    assert rolled["by"] == "octo-roller" and rolled["reason"].startswith("rolled back to ")
