"""`pull-request` delivery: the bot's branch `gitops-bot/ENV` and one open PR per environment."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from gitops_bot.config.settings import Environment, PullRequestOptions
from gitops_bot.delivery.api_commit import publish
from gitops_bot.delivery.message import run_trailers, subject_for
from gitops_bot.delivery.push import Applier, apply_on, backoff, result_for
from gitops_bot.delivery.result import PullRequestInfo, WriteResult
from gitops_bot.delivery.session import Session
from gitops_bot.github.pulls import Pull, PullRequests
from gitops_bot.model.context import RunContext
from gitops_bot.model.errors import GitError, GitHubError, UsageError
from gitops_bot.model.images import labels
from gitops_bot.model.tables import markdown_table
from gitops_bot.model.untrusted import code, md
from gitops_bot.planning.plan import Change, environment_refs
from gitops_bot.planning.states import diff_refs

log = logging.getLogger("gitops_bot.pr")
progress = logging.getLogger("gitops_bot.progress.pr")


def pr_branch(env: Environment) -> str:
    return f"gitops-bot/{env.name}"


def deliver_pull_request(session: Session, command: str, env: Environment, base: str, apply: Applier,
                         options: PullRequestOptions) -> WriteResult:
    """Commit on gitops-bot/ENV (on top of the open PR, else of the base branch) and open/update the PR."""
    head_branch = pr_branch(env)
    if session.options.dry_run and not session.credentials.token:
        log.warning("dry run without a token: planned on %s, not on an open pull request", env.branch)
        applied = apply_on(session, env, base, apply)
        return result_for(session, command, env, base, applied, False, None, head_branch)
    if Path(session.config.repository).expanduser().exists():  # cloned from a path, not from GitHub
        raise UsageError(f"pull-request delivery needs the GitHub repository as OWNER/NAME (--repo); "
                         f"{session.config.repository!r} is a local path (give the path as "
                         f"--remote-url and the slug as --repo)")
    gh = PullRequests.connect(session.config.repository, session.credentials.token,
                              timeout=session.budget.cap(30), api=session.context.api_url)
    ws = session.ws
    for attempt in range(session.options.retries + 1):
        started = time.monotonic()
        pull = gh.open_pull(head_branch, env.branch)
        head = ws.remote_head(head_branch)
        start = ws.fetch(head_branch) if _builds_on(gh, env, pull, head) else base
        applied = apply_on(session, env, start, apply)
        if applied.head is None:
            info = _info(pull, "none") if pull is not None else None
            return result_for(session, command, env, start, applied, False, info,
                              head_branch if pull else None)
        if session.options.dry_run:  # the open PR is the one that would be updated
            info = _info(pull, "updated") if pull is not None else None
            return result_for(session, command, env, start, applied, False, info, head_branch)
        pushed = publish(session, head_branch, start, applied.head, lease=head or "")  # or GitHub's API
        if pushed is not None:
            applied = replace(applied, head=pushed)
            info = _open_or_update(session, gh, env, base, pushed, pull, options)
            return result_for(session, command, env, start, applied, True, info, head_branch)
        if attempt < session.options.retries:
            delay = backoff(attempt, slot=time.monotonic() - started)  # the round this race was lost in
            progress.info("someone pushed to %s first; re-planning in %.2fs (attempt %d of %d)",
                          head_branch, delay, attempt + 2, session.options.retries + 1)
            session.budget.sleep(delay)
            base = ws.fetch(env.branch)
    raise GitError(f"push to {head_branch!r} kept losing races; nothing was written (raise --retries)")


def _builds_on(gh: PullRequests, env: Environment, pull: Pull | None, head: str | None) -> bool:
    """Plan on top of the bot's branch (keeping its unmerged changes) or start again from base?

    On top of it while its PR is open, and also when no PR has that head yet: another run pushed
    it and is about to open the PR, and starting from base would force-push its change away. From
    base once the PR that had that head was merged or closed.
    """
    if head is None:
        return False
    if pull is not None:
        return True
    finished = gh.pulls(pr_branch(env), env.branch, "closed")
    return not any(p.head_sha == head for p in finished)


def _info(pull: Pull, operation: str, head_sha: str | None = None,
          warnings: tuple[str, ...] = ()) -> PullRequestInfo:
    return PullRequestInfo(pull.number, pull.url, operation, head_sha or pull.head_sha, warnings)


def _open_or_update(session: Session, gh: PullRequests, env: Environment, base: str, head: str,
                    pull: Pull | None, options: PullRequestOptions) -> PullRequestInfo:
    fork = session.ws.merge_base(base, head) or base
    changes = diff_refs(environment_refs(session.manifests(env, fork)),
                        environment_refs(session.manifests(env, head)))
    subjects = session.ws.subjects(f"{fork}..{head}")
    # image moves name the PR; a PR of only canary switches or holds is named by its latest commit
    title = subject_for("deploy", env.name, changes) if changes or not subjects else subjects[0]
    body = pr_body(env, changes, subjects, session.context)
    operation = "updated"
    if pull is None:
        pull, created = gh.create(env.branch, pr_branch(env), title, body, options.draft)
        operation = "created" if created else operation  # else it existed already: updated below
    if operation == "updated":
        gh.edit(pull, title, body)
    warnings = _decorate(gh, pull, options, operation)
    return _info(pull, operation, head, warnings)


# What each decoration needs beyond opening the PR, for the warning when it fails.
_NEEDS = {
    "labels": "the token needs Issues: write or Pull requests: write, and the labels' names to be valid",
    "reviewers": "the token needs Pull requests: write, and the reviewers must be collaborators "
                 "(teams: of the repository's organization)",
    "auto-merge": "the token needs Contents: write and Pull requests: write, and the repository must "
                  "allow auto-merge (Settings > General) with a branch protection rule on the base",
}


def _decorate(gh: PullRequests, pull: Pull, options: PullRequestOptions,
              operation: str) -> tuple[str, ...]:
    """Labels, reviewers, auto-merge. The PR exists already, so a failure here is a warning (the
    PR is still reported, exit 0), never an error that would hide it (docs/pull-requests.md)."""
    steps: list[tuple[str, Callable[[], None]]] = []
    if options.labels:
        steps.append(("labels", lambda: gh.add_labels(pull, options.labels)))
    if operation == "created" and (options.reviewers or options.team_reviewers):
        steps.append(("reviewers", lambda: gh.request_reviews(pull, options.reviewers, options.team_reviewers)))
    if options.auto_merge:
        method = options.auto_merge.upper()
        steps.append(("auto-merge", lambda: gh.enable_automerge(pull, method)))
    warnings = []
    for kind, step in steps:
        try:
            step()
        except GitHubError as err:
            text = f"pull request #{pull.number} {operation} ({pull.url}), but: {err}; {_NEEDS[kind]}"
            log.warning("%s", text)
            warnings.append(text)
    return tuple(warnings)


def pr_body(env: Environment, changes: list[Change], subjects: list[str], context: RunContext | None = None) -> str:
    names = labels(c.image for c in changes)
    rows = [[md(names[c.image]), code(c.old or "-"), code(c.new), code(f"{c.file}:{c.line}")] for c in changes]
    lines = [f"Deploys to **{env.name}** (branch {code(env.branch)}, path {code(env.path)}) once merged.", ""]
    if rows:
        lines += [markdown_table(["image", "from", "to", "where"], rows), ""]
    lines += ["Commits:", *(f"- {md(s)}" for s in reversed(subjects)), ""]
    for key, value in run_trailers(context):
        lines.append(f"- {key.removeprefix('Gitops-Bot-')}: {value}")
    lines.append("")
    lines.append("_Opened by gitops-bot. Later deploys to this environment update this pull request._")
    return "\n".join(lines) + "\n"
