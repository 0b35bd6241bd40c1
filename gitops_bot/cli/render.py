"""Rendering results: JSON on stdout, readable text, and the GitHub Actions outputs and summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.model.images import short_name
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import Options
from gitops_bot.model.untrusted import code, line, md


def emit_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2))


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


def write_result(result: WriteResult, options: Options, actions: ActionsWriter) -> None:
    pr = result.pull_request
    actions.set_outputs({
        "environment": result.environment,
        "changed": "true" if result.changed else "false",
        "commit-sha": result.commit or "",
        "pull-request-number": str(pr.number) if pr else "",
        "pull-request-url": pr.url if pr else "",
        "pull-request-operation": pr.operation if pr else "",
    })
    actions.summary(_summary(result))
    for skip in result.skipped:
        actions.warning(line(f"{result.environment}: skipped {skip.image}: {skip.reason}"))
    if options.output == "json":
        emit_json(result.to_json())
        return
    # text mode: the result (what changed, what was pushed or would be) on stdout; logs and
    # progress on stderr (docs/output.md)
    if result.dry_run and result.diff:
        click.echo(actions.untrusted(result.diff), nl=False)
    for change in result.changes:
        click.echo(line(f"{change.file}:{change.line}: {short_name(change.image)} {change.old} -> {change.new}"))
    for skip in result.skipped:
        click.echo(line(f"skipped {skip.image}: {skip.reason}"))
    if not result.changed and result.skipped and not result.changes:
        click.echo(f"{result.environment}: nothing to commit, every requested image was skipped")
    elif not result.changed:
        click.echo(f"{result.environment}: already up to date, nothing to commit")
    elif result.dry_run:
        click.echo(f"{result.environment}: dry run, nothing written")
    elif pr:
        click.echo(f"{result.environment}: pull request #{pr.number} {pr.operation}: {pr.url}")
    else:
        click.echo(f"{result.environment}: pushed {result.commit} to {result.branch}")


def _summary(result: WriteResult) -> str:
    title = f"### gitops-bot {result.command}: {result.environment}"
    if result.dry_run:
        title += " (dry run)"
    lines = [title, ""]
    if result.changes:
        rows = [[md(short_name(c.image)), code(c.old), code(c.new), md(f"{c.file}:{c.line}")]
                for c in result.changes]
        lines += [markdown_table(["image", "from", "to", "where"], rows), ""]
    else:
        lines += ["No change: the environment is already in the wanted state.", ""]
    for skip in result.skipped:
        lines.append(f"- skipped {code(skip.image)}: {md(skip.reason)}")
    if result.skipped:
        lines.append("")  # what follows is a paragraph of its own, not part of the last list item
    if result.pull_request:
        pr = result.pull_request
        said = {"none": "already holds this state"}.get(pr.operation, pr.operation)
        if result.dry_run:
            said = f"would be {said}" if pr.operation != "none" else said
        lines.append(f"Pull request [#{pr.number}]({pr.url}) {said}.")
        lines += ["", *(f"- warning: {w}" for w in pr.warnings)] if pr.warnings else []
    elif result.commit:
        lines.append(f"Commit {code(result.commit)} on {code(result.branch)}.")
    return "\n".join(lines) + "\n"
