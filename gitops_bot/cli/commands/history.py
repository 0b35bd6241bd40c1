from __future__ import annotations

import click

from gitops_bot.cli.options import global_options, options, run_context, run_credentials
from gitops_bot.cli.render import emit_json
from gitops_bot.delivery.session import Session
from gitops_bot.model.images import labels
from gitops_bot.model.tables import table
from gitops_bot.ops.history import history


@click.command("history")
@click.option("--env", "env", required=True, metavar="ENV", help="Environment whose deploys to list.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, metavar="N",
              help="How many deploys, newest first.")
@global_options
@click.pass_context
def history_command(ctx: click.Context, env: str, limit: int) -> None:
    """The deploys of an environment, newest first, with the image changes of each.

    A deploy is a commit on the environment's branch that changed an image reference: its
    Gitops-Bot-* trailers are read, and hand-made commits are diffed. The shallow clone is deepened
    only as far as needed.

    \b
    Example:
      gitops-bot history --env production --limit 5
    """
    opts = options(ctx)
    with Session(opts, run_credentials(ctx), run_context(ctx)) as session:
        environment, deploys = history(session, env, limit)
    if opts.output == "json":
        emit_json({"environment": environment.name, "deploys": [d.to_json() for d in deploys]})
        return
    rows = []
    names = labels(m.image for d in deploys for m in d.changes)  # over the whole table: rows compare
    for d in deploys:
        for i, m in enumerate(d.changes):
            first = i == 0
            rows.append([d.commit.sha[:12] if first else "", d.commit.date[:19] if first else "",
                         d.commit.author.split(" <")[0] if first else "", names[m.image],
                         f"{m.old or '-'} -> {m.new}", d.commit.subject[:60] if first else ""])
    if not rows:
        click.echo(f"{environment.name}: no deploys found on {environment.branch}")
        return
    click.echo(table(["commit", "date", "author", "image", "change", "subject"], rows))
