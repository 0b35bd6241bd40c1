"""`wait` and `--wait`: wait for Flux on a commit of an environment's branch (docs/github.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from gitops_bot.config.github import wait_timeout
from gitops_bot.config.settings import Environment
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import EnvRequest, Session
from gitops_bot.github.app_auth import SOURCE as APP_SOURCE
from gitops_bot.github.statuses import StatusReader
from gitops_bot.github.wait import Clock, WaitOutcome, WaitRequest, wait_for
from gitops_bot.model.commits import SHORTEST_WAIT, is_commit_sha
from gitops_bot.model.errors import GitopsBotError, UsageError

log = logging.getLogger("gitops_bot.wait")
APP_TOKEN_LIFETIME = 3600.0  # seconds an installation token is valid
DEFAULT_CLOCK = Clock()  # tests replace it with one that does not sleep


@dataclass(frozen=True)
class WaitCommand:
    env: str
    commit: str | None = None
    timeout: float | None = None  # None: wait.timeout of the config


def check_commit(commit: str | None) -> str | None:
    if commit is None:
        return None
    sha = commit.strip().lower()
    if not is_commit_sha(sha, SHORTEST_WAIT):
        raise UsageError(f"--commit {commit!r} is not a commit SHA (7 to 40 hex digits)")
    return sha


def reader_for(session: Session) -> StatusReader:
    """The status reader, made before anything is written: a missing token or slug is refused first."""
    return StatusReader(session.config.repository, session.credentials.token, session.budget.cap(30),
                        api=session.context.api_url)


def wait_on(session: Session, env: Environment, commit: str | None, timeout: float | None,
            progress: Callable[[str], None], reader: StatusReader | None = None) -> WaitOutcome:
    """Wait for Flux on `commit` (default: the branch head) of `env`'s branch."""
    reader = reader or reader_for(session)
    sha = commit or session.ws.remote_head(env.branch)
    if sha is None:
        raise UsageError(f"branch {env.branch!r} does not exist: nothing to wait for")
    config = session.config.wait
    limit = config.timeout if timeout is None else wait_timeout(timeout, "the wait timeout")
    if session.credentials.source == APP_SOURCE and limit > APP_TOKEN_LIFETIME - 300:
        log.warning("waiting up to %.0f s with a GitHub App token, which expires after one hour: the wait "
                    "may fail with a 401 once it has", limit)
    request = WaitRequest(sha, config.contexts, limit)
    return wait_for(reader, request, lambda: session.ws.remote_head(env.branch), progress, DEFAULT_CLOCK)


def wait_command(session: Session, request: WaitCommand, progress: Callable[[str], None]) -> WaitOutcome:
    commit = check_commit(request.commit)
    reader = reader_for(session)
    env, _head = session.environment(EnvRequest(request.env))
    return wait_on(session, env, commit, request.timeout, progress, reader)


def write_then_wait(session: Session, write: Callable[[Session], WriteResult], waiting: bool,
                    timeout: float | None, progress: Callable[[str], None],
                    pushed: Callable[[WriteResult], None] = lambda result: None) -> WriteResult:
    """Run a write command; with `waiting` (--wait), then wait for Flux on the commit it pushed.

    The status reader is made first, so that a missing token or OWNER/NAME is refused before
    anything is written. When the wait fails after the push, `pushed(result)` is told (the CLI
    leaves the commit's SHA for the workflow's later steps) and the error says what was pushed.
    """
    reader = None
    if waiting:
        session.push_only = "--wait"
        reader = reader_for(session)
    result = write(session)
    if reader is None or session.options.dry_run:
        return result
    env = session.config.environment(result.environment)
    try:
        outcome = wait_on(session, env, result.commit, timeout, progress, reader)
    except GitopsBotError as err:
        if not result.commit:
            raise
        pushed(result)
        raise type(err)(f"pushed {result.commit} to {result.branch}, but waiting for Flux failed: "
                        f"{err}") from None
    return replace(result, wait=outcome)
