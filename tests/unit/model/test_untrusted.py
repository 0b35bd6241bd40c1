"""Escaping of repository values (gitops_bot/model/untrusted.py): one line, no workflow command, reversible
trailer words, code spans that cannot be closed early."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from gitops_bot.delivery.message import ImageMove, image_moves, image_trailer
from gitops_bot.model.untrusted import code, line, md, token, untoken


@given(st.text())
def test_line_is_one_printable_line(text: str) -> None:
    out = line(text)
    assert out.split("\n") == [out]
    assert all(ch == " " or ch.isprintable() for ch in out)
    assert not out.lstrip().startswith("::")
    assert "##[" not in out


@given(st.text())
def test_token_is_one_word_and_reversible(text: str) -> None:
    word = token(text)
    assert word.split() == ([word] if word else [])
    assert word.isprintable()
    assert untoken(word) == text


@given(st.text(), st.text(min_size=1))
def test_image_trailers_round_trip_any_old_value(old: str, image: str) -> None:
    move = ImageMove(image, old, "5d6e7f8")
    assert image_moves(f"Gitops-Bot-Image: {image_trailer(move)}\n") == [move]


@given(st.text())
def test_a_code_span_is_never_closed_by_the_value(text: str) -> None:
    span = code(text)
    fence = re.match(r"`+", span).group(0)
    inner = span[len(fence):-len(fence)]
    assert span.endswith(fence)
    assert all(len(run) < len(fence) for run in re.findall(r"`+", inner))
    assert "\n" not in span


def test_examples() -> None:
    assert line("1a2b3c4\nGitops-Bot-Image: x") == "1a2b3c4\\nGitops-Bot-Image: x"
    assert line("  ::add-mask::s3cret") == "  \\x3a:add-mask::s3cret"
    assert line("see ##[add-mask]s3cret") == "see #\\x23[add-mask]s3cret"
    assert line("tab\there\x1b[31m\u2028") == "tab\\there\\x1b[31m\\u2028"
    assert token("a b%\n") == "a%20b%25%0A"
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code("") == "` `"
    assert md("*bold* <b>[link](x) a_b") == "\\*bold\\* \\<b\\>\\[link\\](x) a\\_b"


def test_only_the_bots_own_trailer_format_counts() -> None:
    real = "Gitops-Bot-Image: ghcr.io/a 1 -> 2"
    assert len(image_moves(f"x\n\n{real}\n")) == 1
    for forged in (f"  {real}", f"- {real}", real.replace(": ", ":"), real.replace(": ", ":  "),
                   real + " extra", real.replace("Image", "Imagery"), real + "\x0b"):
        assert image_moves(f"x\n\n{forged}\n") == [], forged
    # Python's splitlines() would cut at these, git does not: they do not start a line
    for sep in ("\u2028", "\x85", "\x1e", "\x0c"):
        assert image_moves(f"- note{sep}{real}\n") == [], repr(sep)
