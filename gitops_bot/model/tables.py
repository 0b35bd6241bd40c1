"""Tables of repository values: plain text for the terminal, Markdown for summaries and PR bodies."""

from __future__ import annotations

from collections.abc import Sequence

from gitops_bot.model.untrusted import line


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table; every cell is shown as one printable line (cells hold repository values)."""
    rows = [[line(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table of cells that are already Markdown (see `untrusted.code`/`untrusted.md`)."""

    def cell(text: str) -> str:  # escape each `|` that no backslash escapes yet (`md` escapes its own)
        out, run = [], 0
        for ch in line(text):
            out.append("\\" + ch if ch == "|" and run % 2 == 0 else ch)
            run = run + 1 if ch == "\\" else 0
        return "".join(out)

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(out)
