from __future__ import annotations

import click

from gitops_bot.cli.exits import Rendered
from gitops_bot.cli.options import global_options, options, run_context, run_credentials
from gitops_bot.cli.render import emit_json
from gitops_bot.delivery.session import Session
from gitops_bot.model.untrusted import line
from gitops_bot.ops.validate import validate


@click.command("validate")
@click.option("--env", "envs", multiple=True, metavar="ENV",
              help="Only this environment (repeatable; default: all).")
@global_options
@click.pass_context
def validate_command(ctx: click.Context, envs: tuple[str, ...]) -> Rendered:
    """Check every manifest of the environment; exit 2 with file:line for each problem.

    Reports what would make Flux or kustomize fail, or what gitops-bot could not edit: invalid
    YAML, Flux objects without their required fields, kustomize resources/components that do not
    exist, tags and digests invalid as written. Values files, patches and other data files only
    have to be valid YAML; `${VAR}` substitutions are left to Flux.
    """
    opts = options(ctx)
    with Session(opts, run_credentials(ctx), run_context(ctx)) as session:
        result = validate(session, envs)
    if opts.output == "json":
        emit_json(result.to_json())
    else:
        for report in result.reports:
            for p in report.problems:
                click.echo(line(str(p)), err=True)  # file names come from the repository
            click.echo(f"{report.name}: {report.documents} documents, {len(report.problems)} problem(s)")
    return Rendered(result.exit_code, result.error)
