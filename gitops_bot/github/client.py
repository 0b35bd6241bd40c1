"""The GitHub REST/GraphQL API through PyGithub, with its errors translated at this boundary."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from github import Auth, Github, GithubException, RateLimitExceededException
from github.PullRequest import PullRequest
from github.Repository import Repository
from urllib3.util.retry import Retry

from gitops_bot.model.errors import GitHubError, UsageError
from gitops_bot.model.slug import is_slug

log = logging.getLogger("gitops_bot.github")
T = TypeVar("T")
DEFAULT_API = "https://api.github.com"


def api_url(given: str | None) -> str:
    """The REST API's URL: `given` (GITHUB_API_URL of the run context), else api.github.com."""
    return checked_url((given or DEFAULT_API).rstrip("/"), "GITHUB_API_URL")


def checked_url(url: str, variable: str) -> str:
    """An API endpoint from the environment: an http(s) URL with a host, else bad input (exit 2)."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and (parts.port or 0) >= 0
    except ValueError:
        ok = False
    if not ok:
        raise UsageError(f"{variable} must be an http(s) URL such as https://api.github.com (GitHub "
                         f"Enterprise: https://HOST/api/v3), got {url!r}")
    return url


def retry_policy() -> Retry:
    return _retry()


def _retry() -> Retry:
    # Bounded retries on 5xx for every verb (create_pull included: its "already exists" echo is handled).
    return Retry(total=3, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504),
                 allowed_methods=None, raise_on_status=False, respect_retry_after_header=True)


def explain(err: Exception, what: str, slug: str) -> GitHubError:
    """One line naming the likely cause of a GitHub API failure."""
    if isinstance(err, RateLimitExceededException):
        return GitHubError(f"GitHub API rate limit exceeded while trying to {what}; try again later")
    if not isinstance(err, GithubException):
        return GitHubError(f"GitHub API unreachable while trying to {what}: {type(err).__name__}: {err}")
    data = err.data if isinstance(err.data, dict) else {}
    message = str(data.get("message") or err.data or "").strip()
    details = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e)
                        for e in data.get("errors", []) or [])
    said = f"{message}{': ' + details if details else ''}"
    hint = {
        401: "the token is invalid or expired (GITOPS_BOT_TOKEN / GITHUB_TOKEN)",
        403: ("the token lacks permission (needs contents: write and pull-requests: write), or the "
              "repository's 'Allow GitHub Actions to create and approve pull requests' setting is off"),
        404: f"repository {slug} not found, or the token cannot see it",
    }.get(err.status)
    if err.status == 403 and "rate limit" in said.lower():
        hint = "GitHub API rate limit exceeded; try again later"
    text = f"GitHub API {err.status} while trying to {what}: {said or 'no message'}"
    return GitHubError(f"{text} ({hint})" if hint else text)


@dataclass
class GitHubRepo:
    """The GitOps repository on GitHub."""

    slug: str
    repo: Repository

    @classmethod
    def connect(cls, slug: str, token: str | None, timeout: float = 30.0, api: str | None = None) -> GitHubRepo:
        if not token:
            raise UsageError("pull-request delivery needs a token in GITOPS_BOT_TOKEN or GITHUB_TOKEN")
        if not is_slug(slug):
            raise UsageError(f"pull-request delivery needs the GitHub repository as OWNER/NAME (--repo), "
                             f"not {slug!r}")
        client = Github(auth=Auth.Token(token), base_url=api_url(api), retry=_retry(), timeout=max(1, int(timeout)),
                        seconds_between_requests=None, seconds_between_writes=None)
        repo = call(lambda: client.get_repo(slug), f"read repository {slug}", slug)
        return cls(slug, repo)

    def pulls(self, head_branch: str, base: str, state: str) -> list[PullRequest]:
        owner = self.slug.split("/")[0]
        return call(lambda: list(self.repo.get_pulls(state=state, head=f"{owner}:{head_branch}", base=base)),
                    f"list {state} pull requests from {head_branch}", self.slug)

    def open_pull(self, head_branch: str, base: str) -> PullRequest | None:
        pulls = self.pulls(head_branch, base, "open")
        return pulls[0] if pulls else None


def call(fn: Callable[[], T], what: str, slug: str) -> T:
    try:
        return fn()
    except (GithubException, OSError) as err:
        raise explain(err, what, slug) from err
    except Exception as err:  # requests' connection errors and the like
        if type(err).__module__.startswith(("requests", "urllib3")):
            raise explain(err, what, slug) from err
        raise


def already_exists(err: GithubException) -> bool:
    data: Any = err.data if isinstance(err.data, dict) else {}
    texts = [str(data.get("message", ""))] + [
        str(e.get("message", "")) if isinstance(e, dict) else str(e) for e in data.get("errors", []) or []
    ]
    return err.status == 422 and any("already exists" in t for t in texts)
