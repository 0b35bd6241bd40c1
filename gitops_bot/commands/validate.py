from __future__ import annotations

import click

from gitops_bot.cli import global_options, options, run_credentials
from gitops_bot.errors import ManifestError
from gitops_bot.render import emit_json
from gitops_bot.session import EnvRequest, Session
from gitops_bot.untrusted import line
from gitops_bot.validate import check_files


@click.command("validate")
@click.option("--env", "envs", multiple=True, metavar="ENV",
              help="Only this environment (repeatable; default: all).")
@global_options
@click.pass_context
def validate_command(ctx: click.Context, envs: tuple[str, ...]) -> None:
    """Check every manifest of the environment; exit 2 with file:line for each problem."""
    opts = options(ctx)
    report = {}
    problems_total = 0
    with Session(opts, run_credentials(ctx)) as session:
        if envs:
            session.environment(EnvRequest(envs[0]))  # reads the repository's config (default branch)
        for name in envs or tuple(session.load_config().environments):
            env, commit = session.other_environment(name)
            problems, docs = check_files(session.ws.read_files(commit, env.path))
            problems_total += len(problems)
            report[name] = {"documents": docs, "problems": [p.to_json() for p in problems]}
            if opts.output != "json":
                for p in problems:
                    click.echo(line(str(p)), err=True)  # file names come from the repository
                click.echo(f"{name}: {docs} documents, {len(problems)} problem(s)")
    if opts.output == "json":
        emit_json({"valid": problems_total == 0, "environments": report})
    if problems_total:
        raise ManifestError(f"{problems_total} problem(s) found", reported=opts.output == "json")
