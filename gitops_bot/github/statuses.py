"""Reading what Flux reported on a commit: combined commit statuses and check runs (GitHub REST API).

Flux's notification-controller (Provider `github`) posts a commit status on the GitOps commit for
each Kustomization it reconciles; CI systems post check runs. Both become `Report`s here.
PyGithub objects stay in this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gitops_bot.model.errors import UsageError

# PyGithub (~0.1 s to import) is imported by StatusReader, the only part that talks to GitHub.

MAX_PAGES = 10  # 1000 statuses or check runs per commit: far more than any GitOps commit carries
_GOOD_CONCLUSIONS = ("success", "neutral", "skipped")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(text: object) -> str:
    """A status poster's text (Flux echoes manifest errors) as one line: no line breaks to forge
    log lines or workflow commands with."""
    return _CONTROL.sub(" ", str(text or "")).strip()


@dataclass(frozen=True)
class Report:
    """One context's latest word on one commit: success, pending or failure."""

    context: str
    state: str
    description: str
    commit: str

    def to_json(self) -> dict[str, str]:
        return {"context": self.context, "state": self.state, "description": self.description}


def status_state(raw: str) -> str:
    return {"success": "success", "pending": "pending"}.get(raw, "failure")  # failure, error


def check_state(status: str, conclusion: str | None) -> str:
    if status != "completed":
        return "pending"
    return "success" if conclusion in _GOOD_CONCLUSIONS else "failure"


class StatusReader:
    """Commit statuses, check runs and ancestry of one repository, with the run's token."""

    def __init__(self, slug: str, token: str | None, timeout: float = 30.0, api: str | None = None):
        if not token:
            raise UsageError("waiting for Flux reads commit statuses through the GitHub API and needs a token "
                             "(GITOPS_BOT_TOKEN, GITHUB_TOKEN or a GitHub App)")
        if slug.count("/") != 1 or "://" in slug:
            raise UsageError(f"waiting for Flux needs the GitHub repository as OWNER/NAME (--repo), not {slug!r}")
        from github import Auth, Github

        from gitops_bot.github.client import api_url, retry_policy

        self.slug = slug
        client = Github(auth=Auth.Token(token), base_url=api_url(api), retry=retry_policy(),
                        timeout=max(1, int(timeout)), seconds_between_requests=None, seconds_between_writes=None)
        self._requester = client.requester
        self._contains: dict[tuple[str, str], bool] = {}

    def _get(self, path: str, what: str, *, unknown_ok: bool = False, **params: Any) -> Any:
        from github import GithubException

        from gitops_bot.github.client import call

        def fetch() -> Any:
            try:
                return self._requester.requestJsonAndCheck("GET", f"/repos/{self.slug}{path}",
                                                           parameters=params or None)[1]
            except GithubException as err:
                if unknown_ok and err.status in (404, 422):
                    return None
                raise

        return call(fetch, what, self.slug)

    def reports(self, sha: str) -> list[Report]:
        """Every status context and check run on `sha` (the latest of each); none yet for a commit
        GitHub does not know yet (404/422 right after a push)."""
        out: dict[str, Report] = {}
        for page in range(1, MAX_PAGES + 1):
            data = self._get(f"/commits/{sha}/status", f"read the commit statuses of {sha[:12]}",
                             unknown_ok=page == 1, per_page=100, page=page)
            if data is None:
                return []
            statuses = data.get("statuses") or []
            for s in statuses:
                name = one_line(s.get("context"))
                out.setdefault(name, Report(name, status_state(str(s.get("state"))),
                                            one_line(s.get("description")), sha))
            if len(statuses) < 100:
                break
        for page in range(1, MAX_PAGES + 1):
            data = self._get(f"/commits/{sha}/check-runs", f"read the check runs of {sha[:12]}",
                             per_page=100, page=page)
            runs = data.get("check_runs") or []
            for r in runs:
                name = one_line(r.get("name"))
                output = r.get("output") or {}
                out.setdefault(name, Report(name, check_state(str(r.get("status")), r.get("conclusion")),
                                            one_line(output.get("title") or r.get("conclusion")), sha))
            if len(runs) < 100:
                break
        return list(out.values())

    def contains(self, base: str, head: str) -> bool:
        """Whether `head` is `base` or a descendant of it (compare API: identical or ahead)."""
        key = (base, head)
        if key not in self._contains:
            data = self._get(f"/compare/{base}...{head}", f"compare {base[:12]} with {head[:12]}")
            self._contains[key] = data.get("status") in ("identical", "ahead")
        return self._contains[key]
