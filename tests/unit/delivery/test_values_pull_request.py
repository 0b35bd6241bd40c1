"""Pull-request delivery of a values-file change: the file lies outside the environment's sparse
checkout (helm-charts/ beside flux/), and still reaches the PR branch byte-exactly."""

from __future__ import annotations

import json

from tests.support.github_mock import GitHubMock
from tests.support.gitrepo import Remote
from tests.unit.delivery.conftest import Invoke, bump_prod

PRODUCTION_VALUES = "helm-charts/kai/values-production.yaml"


def test_a_values_file_change_is_delivered_as_a_pull_request(gh: GitHubMock, invoke: Invoke,
                                                              remote: Remote) -> None:
    main_before = remote.head("main")
    gh.repo()
    gh.list_open([])
    gh.create(7)
    code, out, err = bump_prod(invoke, "kai-rag-server=2.0.0")
    assert code == 0, err
    result = json.loads(out)
    assert [(c["file"], c["from"], c["to"]) for c in result["changes"]] == [(PRODUCTION_VALUES, "0f9e8d7", "2.0.0")]
    assert remote.head("main") == main_before
    assert remote.show("gitops-bot/production", PRODUCTION_VALUES) == remote.show("main", PRODUCTION_VALUES).replace(
        b"tag: 0f9e8d7", b"tag: 2.0.0")
    body = gh.sent("POST", "/pulls")
    assert PRODUCTION_VALUES in body["body"]
