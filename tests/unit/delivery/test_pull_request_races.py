"""A force-push of the base branch between our fetch and our push, in pull-request delivery: the
shallow clone's base is gone from the remote ("shallow update not allowed"), reconciled like a
lost race. Real git on a bare remote; the GitHub API mocked with `responses`."""

from __future__ import annotations

import json

import responses

from tests.support.github_mock import GitHubMock
from tests.support.gitrepo import Remote, git
from tests.unit.delivery.conftest import Invoke

PROD_API = "flux/clusters/production/releases/api-server.yaml"


def test_a_force_pushed_base_is_reconciled(gh: GitHubMock, invoke: Invoke, remote: Remote) -> None:
    base = remote.commit_file("main", "notes.txt", b"one\n", "a commit that will be force-pushed away")
    rewritten: list[str] = []

    def force_push(request: object) -> tuple[int, dict[str, str], str]:
        """While the bot asks for open PRs (after its fetch, before its push), main is rewritten."""
        tree = git("rev-parse", "refs/heads/main^{tree}", cwd=remote.bare)
        new = git("commit-tree", "-p", "refs/heads/main^", "-m", "rewritten", tree, cwd=remote.bare)
        git("update-ref", "refs/heads/main", new, base, cwd=remote.bare)
        rewritten.append(new)
        return 200, {"Content-Type": "application/json"}, "[]"

    gh.repo()
    gh.rsps.add_callback(responses.GET, gh.url(f"{gh.repo_url}/pulls"), callback=force_push)
    gh.list_open([])
    gh.create(7)
    code, out, err = invoke("bump", "--env", "production", "--image", "kai-api-server=2.0.0")
    assert code == 0, err
    result = json.loads(out)
    assert result["pull_request"]["operation"] == "created"
    [new_base] = rewritten
    head = remote.head("gitops-bot/production")
    assert git("rev-parse", f"{head}^", cwd=remote.bare) == new_base  # built on the rewritten main
    assert b"tag: 2.0.0" in remote.show("gitops-bot/production", PROD_API) or \
        b'tag: "2.0.0"' in remote.show("gitops-bot/production", PROD_API)
    assert len(gh.calls("POST", "/pulls")) == 1
