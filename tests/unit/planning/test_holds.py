"""Reading `.gitops-bot/holds.yaml`: bounded work on hostile content, plain-string fields."""

from __future__ import annotations

import time

import pytest

from gitops_bot.model.errors import ConfigError
from gitops_bot.planning.holds import MAX_BYTES, Hold, parse_holds, render_holds


def laughs(levels: int) -> bytes:
    doc = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    doc += "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, levels + 1))
    return (doc + f"holds:\n  ghcr.io/kai-platform/kai-api-server: {{reason: *a{levels}}}\n").encode()


def test_a_billion_laughs_is_refused_quickly() -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"^\.gitops-bot/holds\.yaml:\d+: aliases expand to more than"):
        parse_holds(laughs(9))
    assert time.monotonic() - started < 5  # generous: the walk stops after a few levels


def test_a_few_aliases_are_fine() -> None:
    doc = b"who: &me alice\nholds:\n  ghcr.io/x: {reason: frozen, by: *me}\n"
    assert parse_holds(doc) == {"ghcr.io/x": Hold("frozen", "alice", "")}


@pytest.mark.parametrize(("doc", "message"), [
    (b"holds:\n  ? [a, b]\n  : frozen\n", "each key of 'holds' (an image repository) must be a plain string"),
    (b"holds:\n  ? {a: b}\n  : frozen\n", "each key of 'holds' (an image repository) must be a plain string"),
    (b"holds:\n  ghcr.io/x: {reason: [a, b]}\n", "'reason' of the hold of ghcr.io/x must be a plain string"),
    (b"holds:\n  ghcr.io/x: {reason: frozen, by: {name: x}}\n", "'by' of the hold of ghcr.io/x must be a plain"),
    (b"holds:\n  ghcr.io/x: {reason: 42}\n", "'reason' of the hold of ghcr.io/x must be a plain string"),
    (b"holds:\n  ghcr.io/x: " + b"[" * 40 + b"]" * 40 + b"\n", "holds.yaml:2: nested deeper than 32 levels"),
])
def test_fields_are_plain_strings(doc: bytes, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_holds(doc)
    assert message in str(err.value)
    assert str(err.value).startswith(".gitops-bot/holds.yaml")


def test_deep_nesting_is_refused_without_recursion() -> None:
    with pytest.raises(ConfigError, match="nested deeper than"):
        parse_holds(b"holds:\n  x: " + b"[" * 5000 + b"]" * 5000 + b"\n")


def test_a_big_file_is_refused_naming_the_limit() -> None:
    with pytest.raises(ConfigError, match=f"more than the limit of {MAX_BYTES}"):
        parse_holds(b"holds: {}\n" + b"#" * MAX_BYTES)


def test_a_hand_typed_date_is_accepted_for_at() -> None:
    assert parse_holds(b"holds:\n  ghcr.io/x: {reason: r, at: 2026-01-02}\n")["ghcr.io/x"].at == "2026-01-02"


def test_what_the_bot_writes_reads_back() -> None:
    hold = Hold("frozen\n::add-mask::x", "kai-ci", "2026-01-02T03:04:05Z")
    written = render_holds(None, {"ghcr.io/x": hold}, set())
    assert parse_holds(written) == {"ghcr.io/x": hold}
