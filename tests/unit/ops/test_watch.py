"""The health gate's counting, without a network: checks and sleep are injected."""

from __future__ import annotations

import pytest

from gitops_bot.model.errors import UsageError
from gitops_bot.ops.watch import WatchRequest, watch

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


def test_a_failing_last_round_is_degraded_even_below_the_threshold() -> None:
    """A gate never passes a service that fails when it decides (so --on-success never runs then)."""
    health, _ = run([None, None, None, None, "HTTP 500", None], rounds=3, interval=0, threshold=5)
    assert (health.status, health.checks, health.failures) == ("degraded", 3, 1)  # type: ignore[attr-defined]
    assert health.reason == "the last round failed"  # type: ignore[attr-defined]


def test_a_threshold_that_the_probes_can_never_reach_is_refused() -> None:
    with pytest.raises(UsageError, match=r"--threshold 7 can never be reached: 3 round\(s\) x 2 URL\(s\)"):
        run([], rounds=3, interval=0, threshold=7)
    health, _ = run([], rounds=3, interval=0, threshold=6)  # 6 probes: reachable
    assert health.status == "healthy"  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", ["http://[::1", "http://", "http://127.0.0.1:99999/", "https://:80/x",
                                 "http://127.0.0.1:0/", "http://exa mple/"])
def test_malformed_urls_are_bad_input(url: str) -> None:
    with pytest.raises(UsageError, match="--check"):
        watch(WatchRequest("production", (url,)), check=lambda u, t: None, sleep=lambda s: None)


@pytest.mark.parametrize("interval", [float("inf"), float("nan"), -1.0, 1e9])
def test_intervals_must_be_finite_seconds(interval: float) -> None:
    with pytest.raises(UsageError, match="--interval"):
        run([], rounds=2, interval=interval, threshold=1)


def test_one_progress_line_per_round_with_the_failures_so_far(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="gitops_bot.progress"):
        run(["HTTP 500", None, None, None], rounds=2, interval=0, threshold=4)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("gitops_bot.progress")]
    assert lines == [
        "watch production round 1/2: http://127.0.0.1:1/a: HTTP 500; 1 failure(s) so far (threshold 4)",
        "watch production round 2/2: 2 check(s) ok; 1 failure(s) so far (threshold 4)",
    ]
