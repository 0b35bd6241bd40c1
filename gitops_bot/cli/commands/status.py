from __future__ import annotations

import click

from gitops_bot.cli.options import global_options, options, run_context, run_credentials
from gitops_bot.cli.render import emit_json
from gitops_bot.delivery.session import Session
from gitops_bot.model.images import short_name
from gitops_bot.model.tables import table
from gitops_bot.ops.status import status


@click.command("status")
@click.option("--env", "envs", multiple=True, metavar="ENV", help="Only these environments. Repeatable.")
@global_options
@click.pass_context
def status_command(ctx: click.Context, /, envs: tuple[str, ...]) -> None:
    """Image x environment table of current tags; images whose tags differ are marked as drift."""
    opts = options(ctx)
    with Session(opts, run_credentials(ctx), run_context(ctx)) as session:
        board = status(session, envs)
    if opts.output == "json":
        emit_json(board.to_json())
        return
    names = list(board.environments)
    images = sorted({repo for tags in board.environments.values() for repo in tags})
    drift = set(board.drift)
    rows = [[short_name(repo), *(board.environments[n].get(repo, "-") for n in names),
             "drift" if repo in drift else "", repo] for repo in images]
    click.echo(table(["image", *names, "", "repository"], rows))
