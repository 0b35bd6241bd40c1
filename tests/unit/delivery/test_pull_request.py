"""Pull-request delivery: real git on a bare remote, the GitHub API mocked with `responses`."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.github_mock import SLUG, GitHubMock
from tests.support.gitrepo import Remote
from tests.unit.delivery.conftest import TOKEN, Invoke, bump_prod

API = "https://api.github.com"


def test_first_bump_opens_pull_request_and_leaves_main_alone(gh: GitHubMock, invoke: Invoke,
                                                              remote: Remote) -> None:
    main_before = remote.head("main")
    gh.repo()
    gh.list_open([])
    gh.create(7)
    code, out, err = bump_prod(invoke)
    assert code == 0, err
    result = json.loads(out)
    assert result["pull_request"]["number"] == 7
    assert result["pull_request"]["operation"] == "created"
    assert result["branch"] == "gitops-bot/production"
    assert remote.head("main") == main_before
    assert remote.head("gitops-bot/production") == result["commit"]
    body = gh.sent("POST", "/pulls")
    assert body["head"] == "gitops-bot/production"
    assert body["base"] == "main"
    assert body["title"] == "deploy(production): kai-api-server 2.0.0"
    assert "| kai-api-server | `0f9e8d7` | `2.0.0` |" in body["body"]
    assert body["draft"] is False
    listing = gh.calls("GET", "/pulls")[0].request
    assert "head=kai-platform%3Agitops-bot%2Fproduction" in listing.url
    assert gh.calls("GET", "/pulls")[0].request.headers["Authorization"] == f"token {TOKEN}"


def test_second_bump_updates_the_same_pull_request_and_keeps_the_first_change(
        gh: GitHubMock, invoke: Invoke, remote: Remote) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(7)
    assert bump_prod(invoke)[0] == 0
    first_head = remote.head("gitops-bot/production")
    gh.repo()
    gh.list_open([gh.pull_json(7, first_head)])
    gh.edit(7)
    code, out, err = bump_prod(invoke, "kai-coordinator=2.0.1")
    assert code == 0, err
    result = json.loads(out)
    assert result["pull_request"]["operation"] == "updated"
    assert len(gh.calls("POST", "/pulls")) == 1  # never a duplicate
    edit = gh.sent("PATCH", "/pulls/7")
    assert "kai-api-server" in edit["body"] and "kai-coordinator" in edit["body"]
    branch = "gitops-bot/production"
    assert b'tag: "2.0.1"' in remote.show(branch, "flux/clusters/production/releases/coordinator.yaml")
    assert b"2.0.0" in remote.show(branch, "flux/clusters/production/releases/api-server.yaml")
    assert remote.head(branch) != first_head


def test_already_exists_reply_is_recovered_by_updating_the_open_pr(gh: GitHubMock, invoke: Invoke,
                                                                   remote: Remote) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(status=422, body={"message": "Validation Failed", "errors": [
        {"resource": "PullRequest", "code": "custom",
         "message": "A pull request already exists for kai-platform:gitops-bot/production."}]})
    gh.list_open([gh.pull_json(9)])
    gh.edit(9)
    code, out, err = bump_prod(invoke)
    assert code == 0, err
    assert json.loads(out)["pull_request"] == {
        "number": 9, "url": f"https://github.com/{SLUG}/pull/9", "operation": "updated",
        "head_sha": remote.head("gitops-bot/production")}


def test_labels_reviewers_and_auto_merge(gh: GitHubMock, invoke: Invoke) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(7)
    gh.labels(7, body=[{"name": "deploy"}, {"name": "production"}])
    gh.reviewers(7)
    gh.graphql()
    code, _, err = bump_prod(invoke, "kai-api-server=2.0.0", "--label", "deploy", "--label", "production",
                             "--reviewer", "alice", "--team-reviewer", "sre", "--auto-merge", "squash")
    assert code == 0, err
    assert gh.sent("POST", "/issues/7/labels") == ["deploy", "production"]
    assert gh.sent("POST", "/requested_reviewers") == {
        "reviewers": ["alice"], "team_reviewers": ["sre"]}
    graphql = gh.sent("POST", "/graphql")
    assert "enablePullRequestAutoMerge" in graphql["query"]
    assert graphql["variables"]["input"] == {"pullRequestId": "PR_node7", "mergeMethod": "SQUASH"}


@pytest.mark.parametrize(("status", "payload", "expected"), [
    (401, {"message": "Bad credentials"}, "token is invalid or expired"),
    (403, {"message": "Resource not accessible by integration"}, "Allow GitHub Actions to create"),
    (404, {"message": "Not Found"}, f"repository {SLUG} not found"),
])
def test_api_refusals_exit_1_with_cause_and_push_nothing(gh: GitHubMock, invoke: Invoke, remote: Remote,
                                                         status: int, payload: dict[str, str],
                                                         expected: str) -> None:
    refs_before = remote.refs()
    gh.repo(status=status, body=payload)
    code, _, err = bump_prod(invoke)
    assert code == 1
    assert expected in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert remote.refs() == refs_before


def test_validation_failure_on_create_exits_1_with_message(gh: GitHubMock, invoke: Invoke) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(status=422, body={"message": "Validation Failed",
                                "errors": [{"message": "No commits between main and gitops-bot/production"}]})
    code, _, err = bump_prod(invoke)
    assert code == 1
    assert "422" in err and "No commits between" in err


def test_server_error_then_success_is_retried(gh: GitHubMock, invoke: Invoke) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(status=502, body={"message": "Bad Gateway"})
    gh.create(7)
    code, out, err = bump_prod(invoke)
    assert code == 0, err
    assert json.loads(out)["pull_request"]["operation"] == "created"
    assert len(gh.calls("POST", "/pulls")) == 2


def test_rate_limit_exits_1_naming_it(gh: GitHubMock, invoke: Invoke, remote: Remote) -> None:
    refs_before = remote.refs()
    gh.rsps.get(gh.url(gh.repo_url), status=403, json={"message": "API rate limit exceeded for installation"},
                headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1900000000"})
    code, _, err = bump_prod(invoke)
    assert code == 1
    assert "rate limit" in err.lower()
    assert remote.refs() == refs_before


def test_enterprise_api_url_is_used(gh: GitHubMock, invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    gh.api = "https://ghe.example.com/api/v3"
    monkeypatch.setenv("GITHUB_API_URL", gh.api)
    gh.repo()
    gh.list_open([])
    gh.create(7)
    code, _, err = bump_prod(invoke)
    assert code == 0, err
    assert all(re.match(r"https://ghe\.example\.com(:443)?/api/v3/", c.request.url) for c in gh.rsps.calls)


def test_nothing_to_change_reports_existing_pr_with_operation_none(gh: GitHubMock, invoke: Invoke,
                                                                   remote: Remote) -> None:
    gh.repo()
    gh.list_open([])
    code, out, err = bump_prod(invoke, "kai-api-server=0f9e8d7")
    assert code == 0, err
    result = json.loads(out)
    assert result["changed"] is False
    assert result["pull_request"] is None
    assert "gitops-bot/production" not in remote.refs()


def test_promote_staging_to_production_opens_a_pull_request(gh: GitHubMock, invoke: Invoke,
                                                             remote: Remote) -> None:
    from tests.support.gitrepo import git

    scratch = remote.scratch
    git("fetch", "-q", "origin", "staging", cwd=scratch)
    git("checkout", "-q", "-B", "staging", "FETCH_HEAD", cwd=scratch)
    release = scratch / "flux/clusters/staging/releases/api-server.yaml"
    release.write_bytes(release.read_bytes().replace(b"tag: 1a2b3c4", b"tag: 5d6e7f8"))
    git("commit", "-qam", "deploy api-server to staging", cwd=scratch)
    git("push", "-q", "origin", "HEAD:refs/heads/staging", cwd=scratch)
    staging_head = remote.head("staging")
    main_before = remote.head("main")
    gh.repo()
    gh.list_open([])
    gh.create(11)
    code, out, err = invoke("promote", "--from", "staging", "--to", "production", "--image", "kai-api-server")
    assert code == 0, err
    result = json.loads(out)
    assert result["pull_request"]["operation"] == "created"
    assert [(c["from"], c["to"]) for c in result["changes"]] == [("0f9e8d7", "5d6e7f8")]
    assert remote.head("main") == main_before
    message = remote.message("gitops-bot/production")
    assert f"Gitops-Bot-Promoted-From: staging@{staging_head}" in message
    body = gh.sent("POST", "/pulls")
    assert body["base"] == "main"
    assert "| kai-api-server | `0f9e8d7` | `5d6e7f8` |" in body["body"]


def test_production_revert_goes_through_the_pull_request(gh: GitHubMock, invoke: Invoke, remote: Remote) -> None:
    path = "flux/clusters/production/releases/coordinator.yaml"
    bad = remote.commit_file("main", path, remote.show("main", path).replace(b'"0f9e8d7"', b'"bad1"'),
                             "hotfix by hand")
    gh.repo()
    gh.list_open([])
    gh.create(12)
    code, out, err = invoke("revert", bad, "--env", "production")
    assert code == 0, err
    result = json.loads(out)
    assert result["pull_request"]["number"] == 12
    assert remote.head("main") == bad  # production itself moves only when the PR is merged
    assert b'"0f9e8d7"' in remote.show("gitops-bot/production", path)
    assert f"Gitops-Bot-Reverts: {bad}" in remote.message("gitops-bot/production")


def test_after_the_pr_was_closed_the_next_bump_starts_again_from_base(gh: GitHubMock, invoke: Invoke,
                                                                       remote: Remote) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(7)
    assert bump_prod(invoke)[0] == 0
    closed_head = remote.head("gitops-bot/production")
    gh.repo()
    gh.list_open([])
    gh.list_closed([{**gh.pull_json(7, closed_head), "state": "closed"}])
    gh.create(8)
    code, out, err = bump_prod(invoke, "kai-coordinator=2.0.1")
    assert code == 0, err
    assert json.loads(out)["pull_request"]["number"] == 8
    branch = "gitops-bot/production"
    assert b"2.0.0" not in remote.show(branch, "flux/clusters/production/releases/api-server.yaml")
    assert b'tag: "2.0.1"' in remote.show(branch, "flux/clusters/production/releases/coordinator.yaml")


def test_a_branch_whose_pr_is_not_open_yet_is_built_upon_not_overwritten(gh: GitHubMock, invoke: Invoke,
                                                                         remote: Remote) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(7)
    assert bump_prod(invoke)[0] == 0
    gh.repo()
    gh.list_open([])  # another run pushed the branch and has not opened its PR yet
    gh.list_closed([])
    gh.create(7)
    code, _, err = bump_prod(invoke, "kai-coordinator=2.0.1")
    assert code == 0, err
    branch = "gitops-bot/production"
    assert b"2.0.0" in remote.show(branch, "flux/clusters/production/releases/api-server.yaml")
    assert b'tag: "2.0.1"' in remote.show(branch, "flux/clusters/production/releases/coordinator.yaml")


def test_a_hold_through_a_pull_request_is_named_by_its_commit(gh: GitHubMock, invoke: Invoke) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(13)
    code, _, err = invoke("hold", "--env", "production", "--image", "kai-api-server", "--reason", "freeze")
    assert code == 0, err
    body = gh.sent("POST", "/pulls")
    assert body["title"] == "hold(production): ghcr.io/kai-platform/kai-api-server"
    assert "- hold(production): ghcr.io/kai-platform/kai-api-server" in body["body"]
