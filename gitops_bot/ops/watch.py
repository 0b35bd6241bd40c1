"""`watch`: a health gate over HTTP checks that promotes or aborts a rollout (docs/watch.md)."""

from __future__ import annotations

import contextlib
import logging
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from gitops_bot.delivery.session import EnvRequest, Options, Session
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.context import RunContext
from gitops_bot.model.errors import ExitCode, GitopsBotError, UsageError
from gitops_bot.ops.canary import CanaryRequest, canary
from gitops_bot.ops.rollback import RollbackRequest, rollback

progress = logging.getLogger("gitops_bot.progress.watch")  # shown without -v (one line per round)
MAX_INTERVAL = 86400.0


@dataclass(frozen=True)
class WatchRequest:
    env: str
    checks: tuple[str, ...]
    rounds: int = 30
    interval: float = 10.0
    threshold: int = 5
    timeout: float = 5.0


@dataclass(frozen=True)
class Health:
    environment: str
    status: str  # healthy | degraded
    checks: int
    failures: int
    action: str = "none"
    failed: tuple[str, ...] = field(default_factory=tuple)
    reason: str = ""  # why degraded, when not the threshold

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "health_status": self.status, "checks": self.checks,
                "failures": self.failures, "action": self.action}


def check_url(url: str) -> None:
    """A health URL must be http(s) with a host and a valid port; else exit 2 naming it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:
        raise UsageError(f"--check {url!r}: not a valid URL ({err}); give http(s)://HOST[:PORT]/PATH") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"--check {url!r}: only http:// and https:// URLs are supported")
    if not parts.hostname:
        raise UsageError(f"--check {url!r}: no host; give http(s)://HOST[:PORT]/PATH")
    if port == 0 or any(c.isspace() or ord(c) < 32 for c in url):
        raise UsageError(f"--check {url!r}: not a valid URL; give http(s)://HOST[:PORT]/PATH")


def validate(request: WatchRequest) -> None:
    """Everything about the request that can be wrong, checked before any probe or clone."""
    for url in request.checks:
        check_url(url)
    if request.rounds < 1 or request.threshold < 1:
        raise UsageError("--checks and --threshold must be 1 or more")
    if not math.isfinite(request.interval) or not 0 <= request.interval <= MAX_INTERVAL:
        raise UsageError(f"--interval {request.interval}: give seconds from 0 to {MAX_INTERVAL:g}")
    probes = request.rounds * len(request.checks)
    if request.threshold > probes:
        raise UsageError(f"--threshold {request.threshold} can never be reached: {request.rounds} round(s) "
                         f"x {len(request.checks)} URL(s) make {probes} probe(s); lower --threshold or "
                         f"raise --checks")


def probe(url: str, timeout: float) -> str | None:
    """None when the URL answers 2xx/3xx; else a short reason."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - scheme checked
            return None if resp.status < 400 else f"HTTP {resp.status}"
    except urllib.error.HTTPError as err:
        return f"HTTP {err.code}"
    except (urllib.error.URLError, OSError, ValueError) as err:
        return str(getattr(err, "reason", err))


def watch(request: WatchRequest, check: Callable[[str, float], str | None] = probe,
          sleep: Callable[[float], None] = time.sleep) -> Health:
    """Run `rounds` rounds of every check (docs/watch.md).

    Degraded once failures reach the threshold after a round, and also when the last round ends
    with a check failing: a gate never passes a service that is failing when it decides. One
    progress line per round. `checks` in the result counts rounds, as `--checks` does; `failures`
    counts failed probes.
    """
    validate(request)
    failures, failed = 0, []
    for round_no in range(request.rounds):
        now = []
        for url in request.checks:
            reason = check(url, request.timeout)
            if reason is not None:
                now.append(f"{url}: {reason}")
        failures += len(now)
        failed += now
        progress.info("watch %s round %d/%d: %s; %d failure(s) so far (threshold %d)", request.env,
                      round_no + 1, request.rounds, "; ".join(now) or f"{len(request.checks)} check(s) ok",
                      failures, request.threshold)
        if failures >= request.threshold:
            return Health(request.env, "degraded", round_no + 1, failures, failed=tuple(failed))
        if round_no + 1 < request.rounds:
            sleep(request.interval)
        elif now:
            return Health(request.env, "degraded", round_no + 1, failures, failed=tuple(failed),
                          reason="the last round failed")
    return Health(request.env, "healthy", request.rounds, failures, failed=tuple(failed))


def summarize(health: Health, checks: Sequence[str]) -> str:
    why = f" ({health.reason})" if health.reason else ""
    return (f"{health.environment}: {health.status}{why} after {health.checks} round(s) of checks of "
            f"{len(checks)} URL(s), {health.failures} failure(s); action: {health.action}")


@dataclass(frozen=True)
class GateRequest:
    """`watch` with what to do after it: on_failure abort | rollback | none, on_success promote | none."""

    watch: WatchRequest
    on_failure: str = "none"
    on_success: str = "none"


@dataclass(frozen=True)
class GateResult:
    """The health seen, and the error of the action run after it (None: none ran, or it succeeded)."""

    request: GateRequest
    health: Health
    failure: GitopsBotError | None = None

    @property
    def exit_code(self) -> ExitCode:
        if self.health.status == "degraded":
            return ExitCode.DEGRADED
        return self.failure.exit_code if self.failure is not None else ExitCode.OK

    @property
    def error(self) -> str:
        """The error line for a non-zero exit code ("" when the gate passed and its action too)."""
        if self.health.status == "degraded":
            extra = f"; the {self.request.on_failure} action failed: {self.failure}" if self.failure else ""
            why = self.health.reason or f"threshold {self.request.watch.threshold}"
            return f"health degraded: {self.health.failures} failed checks ({why}){extra}"
        return str(self.failure) if self.failure is not None else ""


def _ungrouped(title: str) -> AbstractContextManager[object]:
    return contextlib.nullcontext()


def gate(opts: Options, credentials: Credentials, context: RunContext, request: GateRequest,
         grouped: Callable[[str], AbstractContextManager[object]] = _ungrouped) -> GateResult:
    """Health-gate a rollout: watch, then run the --on-failure / --on-success action (docs/watch.md).

    Everything that can be refused (the request, the configuration, the environment, a token the
    action needs) is refused before the watch window. `grouped(title)` wraps the rounds (a log group
    in GitHub Actions).
    """
    env = request.watch.env
    validate(request.watch)  # URLs, counts and interval: exit 2 before any clone or probe
    actions_needed = {request.on_failure, request.on_success} - {"none"}
    with contextlib.ExitStack() as stack:
        session = None
        if actions_needed or opts.config is None:
            # fail fast: config, environment and credentials before the watch window
            session = stack.enter_context(Session(opts, credentials, context))
            target, _ = session.environment(EnvRequest(env))
            if (actions_needed and target.delivery == "pull-request" and not session.credentials.token
                    and not opts.dry_run):
                raise UsageError(f"{env} delivers by pull request: the --on-failure/--on-success "
                                 f"actions need GITOPS_BOT_TOKEN (or GITHUB_TOKEN)")
        else:  # nothing to write and the configuration is given: no clone needed to know the environment
            opts.base_config().environment(env)
        with grouped(f"gitops-bot watch {env}: {request.watch.rounds} round(s) of "
                     f"{len(request.watch.checks)} check(s)"):
            health = watch(request.watch)
        action = request.on_failure if health.status == "degraded" else request.on_success
        failure: GitopsBotError | None = None
        if action != "none" and session is not None:
            try:
                if action == "rollback":
                    result = rollback(session, RollbackRequest(env, steps=1))
                else:
                    result = canary(session, CanaryRequest(env, "abort" if action == "abort" else "promote"))
                label = action if result.changed else f"{action} (nothing to change)"
                if opts.dry_run:
                    label += " (dry run)"
            except GitopsBotError as err:
                failure, label = err, f"{action} failed"
            health = replace(health, action=label)
    return GateResult(request, health, failure)
