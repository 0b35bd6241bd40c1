"""A pull request that was created is reported even when labelling, reviewers or auto-merge fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.github_mock import SLUG, GitHubMock
from tests.unit.delivery.conftest import Invoke, bump_prod

FORBIDDEN = {"message": "Resource not accessible by personal access token"}


@pytest.mark.parametrize(("flags", "fails", "needs"), [
    (("--label", "deploy"), "labels", "Issues: write or Pull requests: write"),
    (("--reviewer", "alice"), "reviewers", "reviewers must be collaborators"),
    (("--auto-merge", "squash"), "auto-merge", "must allow auto-merge"),
])
def test_a_failed_decoration_is_a_warning_and_the_pr_is_reported(
        gh: GitHubMock, invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        flags: tuple[str, ...], fails: str, needs: str) -> None:
    out_file = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out_file))
    gh.repo()
    gh.list_open([])
    gh.create(7)
    if fails == "labels":
        gh.labels(7, status=403, body=FORBIDDEN)
    elif fails == "reviewers":
        gh.reviewers(7, status=422, body={"message": "Reviews may only be requested from collaborators."})
    else:
        gh.graphql(status=403, body=FORBIDDEN)
    code, out, err = bump_prod(invoke, "kai-api-server=2.0.0", *flags)
    assert code == 0, err
    pull = json.loads(out)["pull_request"]
    assert (pull["number"], pull["url"], pull["operation"]) == (7, f"https://github.com/{SLUG}/pull/7", "created")
    assert len(pull["warnings"]) == 1
    assert needs in pull["warnings"][0]
    assert "pull request #7 created" in err and needs in err
    outputs = out_file.read_text().splitlines()
    assert "pull-request-number=7" in outputs
    assert f"pull-request-url=https://github.com/{SLUG}/pull/7" in outputs
    assert gh.sent("POST", "/pulls")["head"] == "gitops-bot/production"


def test_every_decoration_is_tried_even_after_one_fails(gh: GitHubMock, invoke: Invoke) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(7)
    gh.labels(7, status=403, body=FORBIDDEN)
    gh.reviewers(7)
    code, out, err = bump_prod(invoke, "kai-api-server=2.0.0", "--label", "deploy", "--reviewer", "alice")
    assert code == 0, err
    assert gh.sent("POST", "/requested_reviewers") == {"reviewers": ["alice"],
                                                                            "team_reviewers": []}
    assert len(json.loads(out)["pull_request"]["warnings"]) == 1


def test_no_warnings_key_when_everything_worked(gh: GitHubMock, invoke: Invoke) -> None:
    gh.repo()
    gh.list_open([])
    gh.create(7)
    gh.labels(7)
    code, out, err = bump_prod(invoke, "kai-api-server=2.0.0", "--label", "deploy")
    assert code == 0, err
    assert "warnings" not in json.loads(out)["pull_request"]
