"""A `responses` model of the few GitHub REST endpoints gitops-bot calls, asserting what it sends."""

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

    def url(self, full: str) -> re.Pattern[str]:
        """PyGithub spells the default port out (https://api.github.com:443/...): accept both."""
        scheme, _, rest = full.partition("://")
        host, _, path = rest.partition("/")
        return re.compile(rf"{scheme}://{re.escape(host)}(:443)?/{re.escape(path)}(\?.*)?$")

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

    def calls(self, method: str, suffix: str) -> list[Any]:
        return [c for c in self.rsps.calls
                if c.request.method == method and c.request.url.split("?")[0].endswith(suffix)]

    @staticmethod
    def body(call: Any) -> Any:
        return json.loads(call.request.body)
