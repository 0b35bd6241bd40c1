"""Pull requests of the GitOps repository: PyGithub stays in here, callers get `Pull` values.

Every call's failure becomes a GitHubError naming what was tried (gitops_bot.github.client.call).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from github import GithubException
from github.PullRequest import PullRequest

from gitops_bot.github.client import GitHubRepo, already_exists, call
from gitops_bot.model.errors import GitHubError


@dataclass(frozen=True)
class Pull:
    """A pull request as the bot sees it."""

    number: int
    url: str  # the PR's page (html_url)
    head_sha: str


def _pull(pr: PullRequest) -> Pull:
    return Pull(pr.number, pr.html_url, pr.head.sha)


@dataclass
class PullRequests:
    """The pull requests of one repository, opened with one token."""

    gh: GitHubRepo
    _objects: dict[int, PullRequest] = field(default_factory=dict, repr=False)  # PRs already read, by number

    @classmethod
    def connect(cls, slug: str, token: str | None, timeout: float = 30.0, api: str | None = None) -> PullRequests:
        return cls(GitHubRepo.connect(slug, token, timeout=timeout, api=api))

    @property
    def slug(self) -> str:
        return self.gh.slug

    def _keep(self, pr: PullRequest) -> Pull:
        self._objects[pr.number] = pr
        return _pull(pr)

    def pulls(self, head_branch: str, base: str, state: str) -> list[Pull]:
        return [self._keep(pr) for pr in self.gh.pulls(head_branch, base, state)]

    def open_pull(self, head_branch: str, base: str) -> Pull | None:
        pulls = self.pulls(head_branch, base, "open")
        return pulls[0] if pulls else None

    def create(self, base: str, head_branch: str, title: str, body: str, draft: bool) -> tuple[Pull, bool]:
        """Open the PR: (it, True). If GitHub answers that it exists already (a retried POST may),
        (the open one, False): the caller updates it instead."""
        try:
            return self._keep(call(lambda: self.gh.repo.create_pull(
                base=base, head=head_branch, title=title, body=body, draft=draft, maintainer_can_modify=False,
            ), f"open a pull request against {base}", self.slug)), True
        except GitHubError as err:
            if not isinstance(err.__cause__, GithubException) or not already_exists(err.__cause__):
                raise
            pull = self.open_pull(head_branch, base)
            if pull is None:
                raise
            return pull, False

    def edit(self, pull: Pull, title: str, body: str) -> None:
        pr = self._objects[pull.number]
        call(lambda: pr.edit(title=title, body=body), f"update pull request #{pull.number}", self.slug)

    def add_labels(self, pull: Pull, labels: tuple[str, ...]) -> None:
        pr = self._objects[pull.number]
        call(lambda: pr.add_to_labels(*labels), f"label pull request #{pull.number}", self.slug)

    def request_reviews(self, pull: Pull, reviewers: tuple[str, ...], team_reviewers: tuple[str, ...]) -> None:
        pr = self._objects[pull.number]
        call(lambda: pr.create_review_request(reviewers=list(reviewers), team_reviewers=list(team_reviewers)),
             f"request reviews on pull request #{pull.number}", self.slug)

    def enable_automerge(self, pull: Pull, method: str) -> None:
        pr = self._objects[pull.number]
        call(lambda: pr.enable_automerge(merge_method=method), f"enable auto-merge on pull request #{pull.number}",
             self.slug)
