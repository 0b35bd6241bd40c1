"""Commit SHAs as a user types them: a full or abbreviated hexadecimal object name.

One grammar for every place that takes a SHA (`revert SHA…`, `rollback --to`, `wait --commit`,
and the Action's `commits`, `to` and `commit` inputs), so that a value starting with `-` can never
pass for one and become an option.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"[0-9a-fA-F]+")
SHORTEST = 4  # git's shortest abbreviation (revert, rollback --to)
SHORTEST_WAIT = 7  # wait --commit: the length GitHub shows, long enough to name one commit


def is_commit_sha(text: str, shortest: int = SHORTEST) -> bool:
    """`text` is `shortest` to 40 hex digits, either case."""
    return shortest <= len(text) <= 40 and _HEX.fullmatch(text) is not None
