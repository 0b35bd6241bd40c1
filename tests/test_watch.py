"""The health gate's counting, without a network: checks and sleep are injected."""

from __future__ import annotations

import pytest

from gitops_bot.errors import UsageError
from gitops_bot.watch import WatchRequest, watch

URLS = ("http://127.0.0.1:1/a", "http://127.0.0.1:1/b")


def run(results: list[str | None], **kw: object) -> tuple[object, list[float]]:
    answers = iter(results)
    slept: list[float] = []
    health = watch(WatchRequest("production", URLS, **kw),  # type: ignore[arg-type]
                   check=lambda url, timeout: next(answers, None), sleep=slept.append)
    return health, slept


def test_all_rounds_healthy_sleep_between_rounds_only() -> None:
    health, slept = run([], rounds=3, interval=0.5, threshold=2)
    assert (health.status, health.checks, health.failures) == ("healthy", 3, 0)  # type: ignore[attr-defined]
    assert slept == [0.5, 0.5]


def test_degraded_once_failures_reach_the_threshold_after_a_round() -> None:
    health, slept = run(["HTTP 500", None, "HTTP 503", "timed out"], rounds=30, interval=10, threshold=3)
    assert (health.status, health.checks, health.failures) == ("degraded", 2, 3)  # type: ignore[attr-defined]
    assert slept == [10]


def test_failures_below_threshold_stay_healthy() -> None:
    health, _ = run(["HTTP 500"] + [None] * 9, rounds=5, interval=0, threshold=2)
    assert (health.status, health.failures) == ("healthy", 1)  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["ftp://x/health", "file:///etc/passwd", "127.0.0.1/health"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(UsageError, match="only http"):
        watch(WatchRequest("production", (url,)), check=lambda u, t: None, sleep=lambda s: None)
