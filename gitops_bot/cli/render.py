"""Rendering results: JSON on stdout, readable text, and the GitHub Actions outputs and summary."""

from __future__ import annotations

import json
from typing import Any

import click

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.delivery.result import WriteResult
from gitops_bot.delivery.session import Options
from gitops_bot.model.images import labels
from gitops_bot.model.tables import markdown_table
from gitops_bot.model.untrusted import code, line, md


def emit_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(data, indent=2))


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
    names = labels(c.image for c in result.changes)
    for change in result.changes:
        click.echo(line(f"{change.file}:{change.line}: {names[change.image]} {change.old or '-'} -> {change.new}"))
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
        names = labels(c.image for c in result.changes)
        rows = [[md(names[c.image]), code(c.old or "-"), code(c.new), md(f"{c.file}:{c.line}")] for c in result.changes]
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
