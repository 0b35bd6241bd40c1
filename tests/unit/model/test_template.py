"""The --message template is text with {env} and {subject}, never a str.format format string."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_bot.cli.exits import exit_code
from gitops_bot.model.errors import UsageError
from gitops_bot.model.template import render_message

VALUES = {"env": "staging", "subject": "deploy(staging): kai-api-server 5d6e7f8"}


def test_fields_and_literal_braces() -> None:
    assert render_message("{subject} [{env}]", VALUES) == "deploy(staging): kai-api-server 5d6e7f8 [staging]"
    assert render_message("{{env}} is {env}", VALUES) == "{env} is staging"


@pytest.mark.parametrize("template", ["{env.__class__}", "{subject!r}", "{env:>40}", "{0}", "{}",
                                      "{environment}", "{subject.__init__.__globals__}", "{", "}", "a { b",
                                      "{env[0]}"])
def test_anything_but_the_two_fields_is_refused(template: str) -> None:
    with pytest.raises(UsageError, match="--message template") as err:
        render_message(template, VALUES)
    assert exit_code(err.value) == 2
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("template", ["   ", "{env}\n{subject}"])
def test_the_subject_is_one_non_empty_line(template: str) -> None:
    with pytest.raises(UsageError, match="one non-empty line"):
        render_message(template, {"env": " ", "subject": " "} if template.strip() == "" else VALUES)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="{}\n\r"), min_size=1)
       .filter(str.strip))
def test_text_without_braces_is_kept_as_is(text: str) -> None:
    assert render_message(text, VALUES) == text


@given(st.text(alphabet="{}!.:[]_0aenvsubject_", max_size=30))
def test_a_template_renders_or_is_refused_with_exit_2_and_never_reaches_attributes(template: str) -> None:
    try:
        out = render_message(template, VALUES)
    except UsageError:
        return
    assert "<class" not in out and "'" not in out
