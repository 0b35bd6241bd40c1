"""The push back-off of gitops_bot/delivery/push.py: a window in rounds of the contention seen.

The pauses themselves are random; these tests read the window's upper bound through a generator
whose `uniform` returns it, and check that real draws stay inside it.
"""

from __future__ import annotations

import random

import pytest

from gitops_bot.delivery.push import backoff


class Widest(random.Random):
    def uniform(self, a: float, b: float) -> float:
        assert a == 0
        return b


@pytest.mark.parametrize(("attempt", "slot", "window"), [
    (0, 0.01, 0.15),   # a round shorter than 0.05 s counts as 0.05 s; the first window is 3 rounds
    (0, 0.1, 0.3),     # a short round counts as it is: the last few writers of a crowd retry soon
    (0, 0.5, 1.5),
    (1, 0.5, 4.5),     # each rejection triples it
    (2, 0.5, 8.0),     # up to 16 rounds
    (4, 0.1, 1.6),
    (1, 5.0, 9.0),     # a round longer than 1 s counts as 1 s
    (9, 3.0, 16.0),    # so never more than 16 s
])
def test_window_grows_with_rejections_in_rounds(attempt: int, slot: float, window: float) -> None:
    assert backoff(attempt, Widest(), slot=slot) == pytest.approx(window)


def test_draws_spread_over_the_window() -> None:
    rng = random.Random(13)
    draws = [backoff(1, rng, slot=0.5) for _ in range(2000)]
    assert 0 <= min(draws) < 0.5 and 4.2 < max(draws) <= 4.5  # uniform over [0, 4.5]
    assert 2.0 < sum(draws) / len(draws) < 2.5
