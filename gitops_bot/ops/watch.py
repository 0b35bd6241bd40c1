"""`watch`: a health gate over HTTP checks that promotes or aborts a rollout (docs/watch.md)."""

from __future__ import annotations

import logging
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gitops_bot.model.errors import UsageError

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
