"""A `responses` model of the GitHub REST and GraphQL endpoints gitops-bot calls, asserting what it sends.

The one place tests register GitHub endpoints: pull requests (list, create, edit, labels, reviewers,
auto-merge over GraphQL), GitHub App installation tokens, commit statuses, check runs and compare.
`createCommitOnBranch` is played by tests/support/fake_graphql.py on the same RequestsMock. The
fixtures `gh` (every registered endpoint must be called) and `rsps` (a plain RequestsMock) are in
tests/conftest.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import responses

SLUG = "kai-platform/kai-gitops"


@dataclass
class GitHubMock:
    rsps: responses.RequestsMock
    api: str = "https://api.github.com"
    pulls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def repo_url(self) -> str:
        return f"{self.api}/repos/{SLUG}"

    @property
    def graphql_url(self) -> str:
        return f"{self.api}/graphql"

    def url(self, full: str) -> re.Pattern[str]:
        """PyGithub spells the default port out (https://api.github.com:443/...): accept both."""
        scheme, _, rest = full.partition("://")
        host, _, path = rest.partition("/")
        return re.compile(rf"{scheme}://{re.escape(host)}(:443)?/{re.escape(path)}(\?.*)?$")

    def repo_pattern(self, path_regex: str) -> re.Pattern[str]:
        """Like url() for `{repo_url}{path_regex}`, the path a regular expression (a SHA pattern)."""
        scheme, _, rest = self.repo_url.partition("://")
        host, _, path = rest.partition("/")
        return re.compile(rf"{scheme}://{re.escape(host)}(:443)?/{re.escape(path)}{path_regex}(\?.*)?$")

    def pull_json(self, number: int, head_sha: str = "0" * 40) -> dict[str, Any]:
        url = f"{self.repo_url}/pulls/{number}"
        return {
            "number": number, "url": url, "html_url": f"https://github.com/{SLUG}/pull/{number}",
            "issue_url": f"{self.repo_url}/issues/{number}", "node_id": f"PR_node{number}",
            "state": "open", "head": {"ref": "gitops-bot/production", "sha": head_sha},
            "base": {"ref": "main", "sha": "1" * 40},
        }

    def repo(self, status: int = 200, body: dict[str, Any] | None = None) -> None:
        self.rsps.get(self.url(self.repo_url), status=status, json=body if body is not None else {
            "full_name": SLUG, "name": "kai-gitops", "url": self.repo_url, "owner": {"login": "kai-platform"},
            "allow_auto_merge": True,
        })

    def list_open(self, pulls: list[dict[str, Any]], state: str = "open") -> None:
        query = {"state": state, "head": "kai-platform:gitops-bot/production", "base": "main"}
        self.rsps.get(self.url(f"{self.repo_url}/pulls"), json=pulls,
                      match=[responses.matchers.query_param_matcher(query, strict_match=False)])

    def list_closed(self, pulls: list[dict[str, Any]]) -> None:
        self.list_open(pulls, state="closed")

    def create(self, number: int = 7, status: int = 201, body: dict[str, Any] | None = None) -> None:
        self.rsps.post(self.url(f"{self.repo_url}/pulls"), status=status,
                       json=body if body is not None else self.pull_json(number))

    def edit(self, number: int = 7) -> None:
        self.rsps.patch(self.url(f"{self.repo_url}/pulls/{number}"), json=self.pull_json(number))

    def labels(self, number: int = 7, status: int = 200, body: Any = None) -> None:
        self.rsps.post(self.url(f"{self.repo_url}/issues/{number}/labels"), status=status,
                       json=body if body is not None else [{"name": "deploy"}])

    def reviewers(self, number: int = 7, status: int = 201, body: Any = None) -> None:
        self.rsps.post(self.url(f"{self.repo_url}/pulls/{number}/requested_reviewers"), status=status,
                       json=body if body is not None else self.pull_json(number))

    def graphql(self, status: int = 200, body: Any = None) -> None:
        """POST /graphql answered with `body` (by default, auto-merge enabled)."""
        self.rsps.post(self.url(self.graphql_url), status=status, json=body if body is not None else {
            "data": {"enablePullRequestAutoMerge": {"actor": {"login": "bot"}, "clientMutationId": None}}})

    def installation(self, status: int = 200, body: Any = None, app_id: int = 123456) -> None:
        """GET /repos/{slug}/installation: the GitHub App's installation on the repository."""
        self.rsps.get(self.url(f"{self.repo_url}/installation"), status=status,
                      json=body if body is not None else {"id": 4242, "app_id": app_id})

    def access_token(self, token: str, installation_id: int = 4242, status: int = 201, body: Any = None) -> None:
        """POST /app/installations/{id}/access_tokens: an installation token minted."""
        self.rsps.post(self.url(f"{self.api}/app/installations/{installation_id}/access_tokens"), status=status,
                       json=body if body is not None else {"token": token, "expires_at": "2099-01-01T00:00:00Z"})

    def statuses(self, sha: str, *sequence: list[dict[str, str]], runs: list[dict[str, Any]] | None = None,
                 state: str | None = "x") -> None:
        """Successive replies of the combined status of `sha` (a regular expression; the last reply
        repeats), then its check runs."""
        for items in sequence:
            reply: dict[str, Any] = {"statuses": items} if state is None else {"state": state, "statuses": items}
            self.rsps.get(self.repo_pattern(f"/commits/{sha}/status"), json=reply)
        check_runs: dict[str, Any] = {"check_runs": runs or []}
        if state is not None:
            check_runs = {"total_count": len(runs or []), **check_runs}
        self.rsps.get(self.repo_pattern(f"/commits/{sha}/check-runs"), json=check_runs)

    def status_refused(self, sha: str, status: int, body: dict[str, Any]) -> None:
        """The combined status of `sha` (a regular expression) answered with an error."""
        self.rsps.get(self.repo_pattern(f"/commits/{sha}/status"), status=status, json=body)

    def compare(self, base: str, head: str, body: dict[str, Any]) -> None:
        self.rsps.get(self.url(f"{self.repo_url}/compare/{base}...{head}"), json=body)

    def calls(self, method: str, suffix: str) -> list[Any]:
        return [c for c in self.rsps.calls
                if c.request.method == method and c.request.url.split("?")[0].endswith(suffix)]

    def sent(self, method: str, suffix: str, index: int = 0) -> Any:
        """The JSON body of the `index`th `method` request to a URL ending in `suffix` (which must exist)."""
        calls = self.calls(method, suffix)
        assert len(calls) > index, f"{method} ...{suffix}: {len(calls)} call(s), wanted #{index + 1}"
        return self.body(calls[index])

    @staticmethod
    def body(call: Any) -> Any:
        return json.loads(call.request.body)
