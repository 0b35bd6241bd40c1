"""`commit.sign: github`: commits made by GitHub's `createCommitOnBranch`, on a real bare remote.

GraphQL is mocked with `responses` (tests/support/fake_graphql.py), which asserts what is sent and
applies it to the bare remote as GitHub would; git is real everywhere else.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import responses

from gitops_bot.delivery.api_commit import file_changes
from gitops_bot.git.workspace import Workspace
from gitops_bot.github.credentials import Credentials
from tests.support.env import scrub_environ
from tests.support.fake_graphql import FakeGraphQL
from tests.support.github_mock import SLUG, GitHubMock
from tests.support.gitrepo import Remote, git, make_remote
from tests.support.inprocess import invoke as run_cli

TOKEN = "ghp_signed_commit_token_0123456789"
API_FILE = "flux/clusters/staging/releases/api-server.yaml"
IMAGE = "kai-api-server=5d6e7f8"

Invoke = Callable[..., tuple[int, str, str]]


@pytest.fixture
def fake(rsps: responses.RequestsMock, remote: Remote) -> FakeGraphQL:
    return FakeGraphQL(rsps, remote.bare, TOKEN).install()


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
           remote: Remote) -> Invoke:
    home = tmp_path / "home"
    home.mkdir()
    scrub_environ(monkeypatch, home, {"GITOPS_BOT_TOKEN": TOKEN})
    config = tmp_path / "signed.yaml"
    config.write_text("commit:\n  sign: github\n")

    def run(*args: str) -> tuple[int, str, str]:
        argv = ["--repo", SLUG, "--remote-url", remote.url, "--config", str(config), "--output", "json", *args]
        return run_cli(capsys, argv, TOKEN)

    return run


def test_bump_is_committed_by_github_with_expected_head_and_base64_changes(
        fake: FakeGraphQL, invoke: Invoke, remote: Remote) -> None:
    base = remote.head("staging")
    before = remote.show("staging", API_FILE)
    code, out, err = invoke("bump", "--env", "staging", "--image", IMAGE)
    assert code == 0, err
    (sent,) = fake.inputs
    assert sent["branch"] == {"repositoryNameWithOwner": SLUG, "branchName": "staging"}
    assert sent["expectedHeadOid"] == base
    assert sent["message"]["headline"] == "deploy(staging): kai-api-server 5d6e7f8"
    assert "Gitops-Bot-Environment: staging" in sent["message"]["body"]
    assert "Gitops-Bot-Image: ghcr.io/kai-platform/kai-api-server 1a2b3c4 -> 5d6e7f8" in sent["message"]["body"]
    wanted = before.replace(b"tag: 1a2b3c4  # updated", b"tag: 5d6e7f8  # updated")
    assert sent["fileChanges"] == {"additions": [{"path": API_FILE, "contents": base64.b64encode(wanted).decode()}],
                                   "deletions": []}
    result = json.loads(out)
    # the commit reported is GitHub's own, and it is what the branch holds
    assert result["commit"] == fake.created[0] == remote.head("staging")
    assert git("log", "-1", "--format=%cn %P", "staging", cwd=remote.bare) == f"GitHub {base}"
    assert remote.show("staging", API_FILE) == wanted


def test_history_and_rollback_read_the_commit_github_made(fake: FakeGraphQL, invoke: Invoke, remote: Remote) -> None:
    original = remote.show("staging", API_FILE)
    assert invoke("bump", "--env", "staging", "--image", IMAGE)[0] == 0
    code, out, err = invoke("history", "--env", "staging")
    assert code == 0, err
    deploy = json.loads(out)["deploys"][0]
    assert deploy["commit"] == fake.created[0]
    assert deploy["changes"] == [{"image": "ghcr.io/kai-platform/kai-api-server", "from": "1a2b3c4", "to": "5d6e7f8"}]
    code, out, err = invoke("rollback", "--env", "staging", "--steps", "1", "--no-hold")
    assert code == 0, err
    assert fake.inputs[1]["expectedHeadOid"] == fake.created[0]
    before_deploy = git("rev-parse", f"{fake.created[0]}^", cwd=remote.bare)
    assert f"Gitops-Bot-Rollback-To: {before_deploy}" in fake.inputs[1]["message"]["body"]
    assert remote.show("staging", API_FILE) == original
    assert json.loads(out)["commit"] == fake.created[1] == remote.head("staging")


def test_revert_through_the_api_carries_the_reverts_trailer(fake: FakeGraphQL, invoke: Invoke, remote: Remote) -> None:
    original = remote.show("staging", API_FILE)
    assert invoke("bump", "--env", "staging", "--image", IMAGE)[0] == 0
    code, _out, err = invoke("revert", "--env", "staging", "--", fake.created[0])
    assert code == 0, err
    assert f"Gitops-Bot-Reverts: {fake.created[0]}" in remote.message("staging")
    assert remote.show("staging", API_FILE) == original


def test_stale_head_is_a_lost_race_replanned_on_the_new_head(fake: FakeGraphQL, invoke: Invoke,
                                                              remote: Remote) -> None:
    other = "flux/clusters/staging/releases/coordinator.yaml"
    colleague: list[str] = []

    def push_first(n: int) -> None:
        if n == 1:  # a colleague pushes while our first mutation is on its way
            text = remote.show("staging", other) + b"# colleague\n"
            colleague.append(remote.commit_file("staging", other, text, "colleague"))

    fake.before = push_first
    base = remote.head("staging")
    code, out, err = invoke("bump", "--env", "staging", "--image", IMAGE)
    assert code == 0, err
    assert [i["expectedHeadOid"] for i in fake.inputs] == [base, colleague[0]]
    assert fake.created == [json.loads(out)["commit"]] == [remote.head("staging")]
    assert git("rev-parse", "staging^", cwd=remote.bare) == colleague[0]  # nothing lost, nothing duplicated
    assert remote.show("staging", other).endswith(b"# colleague\n")
    assert b"tag: 5d6e7f8" in remote.show("staging", API_FILE)


def test_always_stale_exhausts_retries_with_exit_1(fake: FakeGraphQL, invoke: Invoke, remote: Remote) -> None:
    other = "flux/clusters/staging/releases/coordinator.yaml"
    fake.before = lambda n: remote.commit_file("staging", other, remote.show("staging", other) + b"#\n", f"c{n}")
    code, _out, err = invoke("--retries", "1", "bump", "--env", "staging", "--image", IMAGE)
    assert code == 1
    assert "kept losing races" in err
    assert len(fake.inputs) == 2
    assert fake.created == []
    assert b"5d6e7f8" not in remote.show("staging", API_FILE)


def test_refused_mutation_exits_1_and_writes_nothing(fake: FakeGraphQL, invoke: Invoke, remote: Remote) -> None:
    fake.refuse = {"data": {"createCommitOnBranch": None}, "errors": [
        {"type": "FORBIDDEN", "message": "Resource not accessible by integration"}]}
    refs = remote.refs()
    code, out, err = invoke("bump", "--env", "staging", "--image", IMAGE)
    assert code == 1
    assert "Resource not accessible by integration" in err
    assert "nothing was written" in err
    assert json.loads(out)["exit_code"] == 1
    assert remote.refs() == refs
    assert len(fake.inputs) == 1  # a refusal is not a race: not retried


def test_graphql_url_from_the_environment(rsps: responses.RequestsMock, invoke: Invoke, remote: Remote,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeGraphQL(rsps, remote.bare, TOKEN, url="https://ghe.example.com/api/graphql").install()
    monkeypatch.setenv("GITHUB_GRAPHQL_URL", "https://ghe.example.com/api/graphql")
    code, _out, err = invoke("bump", "--env", "staging", "--image", IMAGE)
    assert code == 0, err
    assert len(fake.inputs) == 1


def test_dry_run_sends_nothing(fake: FakeGraphQL, invoke: Invoke, remote: Remote) -> None:
    refs = remote.refs()
    code, _out, err = invoke("--dry-run", "bump", "--env", "staging", "--image", IMAGE)
    assert code == 0, err
    assert fake.inputs == []
    assert remote.refs() == refs


def test_pull_request_branch_is_written_by_github_too(rsps: responses.RequestsMock, fake: FakeGraphQL,
                                                      invoke: Invoke, remote: Remote) -> None:
    gh = GitHubMock(rsps)
    gh.repo()
    gh.list_open([])
    gh.create(7)
    base = remote.head("main")
    code, out, err = invoke("bump", "--env", "production", "--image", "kai-api-server=2.0.0")
    assert code == 0, err
    (sent,) = fake.inputs
    assert sent["branch"]["branchName"] == "gitops-bot/production"
    assert sent["expectedHeadOid"] == base  # the PR branch was started at main's head by a push of no new commit
    result = json.loads(out)
    assert result["commit"] == fake.created[0] == remote.head("gitops-bot/production")
    assert result["pull_request"]["head_sha"] == fake.created[0]
    assert remote.head("main") == base
    assert gh.sent("POST", "/pulls")["head"] == "gitops-bot/production"


def test_file_changes_lists_deletions_and_additions(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "r", extra={"flux/extra.yaml": b"a: 1\n"})
    git("rm", "-q", "flux/extra.yaml", cwd=remote.scratch)
    (remote.scratch / "flux" / "new.yaml").write_bytes(b"b: 2\n")
    git("add", "-A", cwd=remote.scratch)
    git("commit", "-q", "-m", "change", cwd=remote.scratch)
    git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=remote.scratch)
    with Workspace.open(remote.url, Credentials(), workdir=None, progress=False) as ws:
        head = ws.fetch("main", depth=2)
        changes = file_changes(ws, f"{head}^", head)
    assert changes == {"additions": [{"path": "flux/new.yaml", "contents": base64.b64encode(b"b: 2\n").decode()}],
                       "deletions": [{"path": "flux/extra.yaml"}]}


def test_server_error_says_a_re_run_is_safe(rsps: responses.RequestsMock, invoke: Invoke, remote: Remote) -> None:
    GitHubMock(rsps).graphql(status=502, body={"message": "Bad Gateway"})
    code, _out, err = invoke("bump", "--env", "staging", "--image", IMAGE)
    assert code == 1
    assert "GitHub API 502" in err and "a re-run changes nothing" in err
    body = json.loads(rsps.calls[0].request.body)
    assert body["variables"]["input"]["expectedHeadOid"] == remote.head("staging")
