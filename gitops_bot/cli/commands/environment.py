from __future__ import annotations

import click

from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.cli.options import global_options, options, run_context


@click.command("environment")
@click.option("--ref", required=True, metavar="REF", help="App-repo ref, e.g. refs/heads/staging.")
@global_options
@click.pass_context
def environment_command(ctx: click.Context, ref: str) -> None:
    """Print the environment REF deploys to (exit 2 if none). Reads only the configuration."""
    opts = options(ctx)
    env = opts.base_config().environment_for_ref(ref)
    ActionsWriter(run_context(ctx)).set_outputs({"environment": env.name})
    if opts.output == "json":
        from gitops_bot.cli.render import emit_json  # render loads every result type: only when asked for

        emit_json({"ref": ref, "environment": env.name, "branch": env.branch, "path": env.path,
                   "delivery": env.delivery})
    else:
        click.echo(env.name)
