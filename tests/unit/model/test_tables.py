"""The step summary's and PR body's tables keep their columns whatever a file name holds
(docs/trust-model.md)."""

from __future__ import annotations

import re

import pytest

from gitops_bot.model.tables import markdown_table
from gitops_bot.model.untrusted import code, md

# GitHub's table rows split at a `|` that no backslash escapes; `\\` is an escaped backslash.
_CELL = re.compile(r"(?:\\.|[^|\\])+|\\$")


def columns(row: str) -> int:
    return len(_CELL.findall(row.strip().strip("|"))) if row.strip("| ") else 0


@pytest.mark.parametrize("name", ["a|b.yaml", "a\\|b.yaml", "a\\\\|b|c.yaml", "x`|`y.yaml"])
def test_a_pipe_in_a_repository_value_stays_inside_its_cell(name: str) -> None:
    table = markdown_table(["image", "from", "to", "where"],
                           [[md("app"), code(name), code("1"), md(name)]])
    header, _, row = table.splitlines()
    assert columns(row) == columns(header) == 4, row
