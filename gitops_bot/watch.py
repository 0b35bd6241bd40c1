"""`watch`: a health gate over HTTP checks that promotes or aborts a rollout (CONTRACT §5, §8)."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gitops_bot.errors import UsageError

log = logging.getLogger("gitops_bot.watch")


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

    def to_json(self) -> dict[str, Any]:
        return {"environment": self.environment, "health_status": self.status, "checks": self.checks,
                "failures": self.failures, "action": self.action}


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
    """Run `rounds` rounds of every check; degraded once failures reach the threshold after a round.

    `checks` in the result counts rounds, as `--checks` does; `failures` counts failed probes.
    """
    for url in request.checks:
        if urlsplit(url).scheme not in ("http", "https"):
            raise UsageError(f"--check {url!r}: only http:// and https:// URLs are supported")
    if request.rounds < 1 or request.threshold < 1 or request.interval < 0:
        raise UsageError("--checks and --threshold must be 1 or more, --interval 0 or more")
    failures, failed = 0, []
    for round_no in range(request.rounds):
        for url in request.checks:
            reason = check(url, request.timeout)
            if reason is not None:
                failures += 1
                failed.append(f"{url}: {reason}")
                log.warning("health check round %d/%d failed: %s: %s", round_no + 1, request.rounds, url,
                            reason)
        if failures >= request.threshold:
            return Health(request.env, "degraded", round_no + 1, failures, failed=tuple(failed))
        if round_no + 1 < request.rounds:
            sleep(request.interval)
    return Health(request.env, "healthy", request.rounds, failures, failed=tuple(failed))


def summarize(health: Health, checks: Sequence[str]) -> str:
    return (f"{health.environment}: {health.status} after {health.checks} round(s) of checks of "
            f"{len(checks)} URL(s), {health.failures} failure(s); action: {health.action}")
