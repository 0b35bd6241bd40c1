"""The click layer: global options, command registration and the one place errors become exit codes."""

from __future__ import annotations

import itertools
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, overload

import click
from click.core import ParameterSource

from gitops_bot import __version__
from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.errors import GitopsBotError, exit_code_for
from gitops_bot.cli.lazygroup import LazyGroup
from gitops_bot.cli.nonempty import refuse_empty
from gitops_bot.model.untrusted import line

if TYPE_CHECKING:  # imported when a command asks for its options (docs/startup.md)
    from gitops_bot.delivery.session import Options

F = TypeVar("F", bound=Callable[..., Any])


_GLOBAL_NAMES = ("config", "repo", "remote_url", "workdir", "retries", "timeout", "output", "dry_run", "verbose")


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Global options may come before or after the command name; the one given last wins."""
    assert param.name is not None
    if ctx.get_parameter_source(param.name) not in (ParameterSource.DEFAULT, None):
        ctx.find_root().meta.setdefault("gitops_bot.options", {})[param.name] = value
    return value


@overload
def global_options(func: F, /) -> F: ...
@overload
def global_options(*, skip: tuple[str, ...]) -> Callable[[F], F]: ...


def global_options(func: F | None = None, /, *, skip: tuple[str, ...] = ()) -> F | Callable[[F], F]:
    """The global options on a command (or the group). `skip` leaves out those the command defines
    itself with another meaning (`wait --timeout S` is how long to wait; the global one is then given
    before the command name)."""
    if func is None:
        return lambda f: _add_global_options(f, skip)
    return _add_global_options(func, skip)


def _add_global_options(func: F, skip: tuple[str, ...]) -> F:
    # Options of every command are declared with plain click.option/click.argument. An empty value
    # (`--remote-url ""`) is refused with exit 2 for all of them, including options added later:
    # `_register` runs gitops_bot.cli.nonempty.refuse_empty over the whole command tree
    # (docs/cli-input.md). Nothing to do per option.
    opts = [
        click.option("--config", "config", type=click.Path(path_type=Path, dir_okay=False),
                     help="Configuration file (default: .gitops-bot.yaml of the GitOps repository, "
                          "else built-in defaults)."),
        click.option("--repo", "repo", metavar="OWNER/NAME|URL|PATH",
                     help="The GitOps repository (default: gitops.repository of the config)."),
        click.option("--remote-url", "remote_url", metavar="URL",
                     help="Clone/push URL; the GitHub slug stays --repo."),
        click.option("--workdir", "workdir",
                     type=click.Path(path_type=Path, file_okay=False, resolve_path=True),
                     help="Reuse a clone in DIR (fetch + reset) instead of a temporary one."),
        click.option("--retries", "retries", type=click.IntRange(0, 100), metavar="N",
                     help="Push attempts after the first rejected one (default 15)."),
        click.option("--timeout", "timeout", type=click.IntRange(min=1), metavar="SECONDS",
                     help="Give up a network operation (git, GitHub API) after SECONDS, and the run's "
                          "network work as a whole after SECONDS in total: exit 1, nothing half-written "
                          "(default 300)."),
        click.option("--output", "output", type=click.Choice(["text", "json"]),
                     help="text (default) or one JSON document on stdout."),
        click.option("--dry-run", "dry_run", is_flag=True, default=None,
                     help="Plan and print the diff; write nothing."),
        click.option("-v", "--verbose", "verbose", is_flag=True, default=None,
                     help="Log git commands and progress on stderr."),
    ]
    opts = [opt for name, opt in zip(_GLOBAL_NAMES, opts, strict=True) if name not in skip]
    for opt in reversed(opts):
        func = opt(func)
    for param in func.__click_params__[-len(opts):]:  # type: ignore[attr-defined]
        param.expose_value = False
        param.callback = _store
        param.is_eager = True
    return func


def run_credentials(ctx: click.Context) -> Credentials:
    """The run's one Credentials (main() made it), so that a GitHub App token is minted, masked and
    redacted once per run."""
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Credentials) else Credentials.from_env()


def options(ctx: click.Context) -> Options:
    from gitops_bot.delivery.session import Options

    given = ctx.find_root().meta.get("gitops_bot.options", {})
    return Options(**{k: v for k, v in given.items() if v is not None})


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="gitops-bot")
@global_options
def cli() -> None:
    """Update image tags in a Flux GitOps repository, safely.

    \b
    Deploy a freshly built image to staging (commit + push):
      gitops-bot bump --env staging --image kai-api-server=5d6e7f8
    Let the app repo's ref pick the environment, every alias at one tag:
      gitops-bot bump --ref refs/heads/main --tag "$GITHUB_SHA"
    See the change without writing anything:
      gitops-bot --dry-run bump --env staging --image kai-api-server=5d6e7f8

    Credentials come only from GITOPS_BOT_TOKEN (else GITHUB_TOKEN, else a GitHub App:
    GITOPS_BOT_APP_ID + GITOPS_BOT_APP_PRIVATE_KEY).
    Exit codes: 0 done, 1 run-time failure, 2 bad input, 3 health degraded.
    """


def _register(load_all: bool = True) -> None:
    """Name the commands; main() imports only the one that runs (docs/startup.md)."""
    from gitops_bot.cli.commands import COMMANDS

    assert isinstance(cli, LazyGroup)
    cli.table, cli.prepare = COMMANDS, refuse_empty
    if load_all:
        cli.load_all()
    refuse_empty(cli)


def _setup_logging(verbose: bool, redact: Callable[[str], str], actions: ActionsWriter) -> None:
    """Logs go to stderr, redacted; inside GitHub Actions, warnings also become ::warning:: lines."""

    class Redacting(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return line(redact(super().format(record)))  # one line, whatever a value held

    class Annotating(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            actions.warning(record.getMessage())

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Redacting("gitops-bot: %(message)s"))
    root = logging.getLogger("gitops_bot")
    root.handlers[:] = [handler]
    if actions.active:
        annotations = Annotating(logging.WARNING)
        root.addHandler(annotations)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root.propagate = False
    # progress of long work (push retries, watch rounds) is shown without -v, as plain lines
    logging.getLogger("gitops_bot.progress").setLevel(logging.DEBUG if verbose else logging.INFO)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: running git commands are stopped, temp clones removed


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _terminate)
    _register(load_all=False)
    credentials = Credentials.from_env()
    actions = ActionsWriter(redact=credentials.redact)
    actions.mask(credentials.maskable)
    if credentials.app is not None:
        credentials.app.announce = actions.mask  # a minted App token is masked the moment it exists
    args = argv if argv is not None else sys.argv[1:]
    verbose = any(a in ("-v", "--verbose") for a in args)
    as_json = "--output=json" in args or ("--output", "json") in itertools.pairwise(args)
    _setup_logging(verbose, credentials.redact, actions)

    def fail(message: str, code: int, result_printed: bool = False) -> NoReturn:
        message = line(message)  # errors quote repository values: one line, no workflow command
        click.echo(f"gitops-bot: {message}", err=True)
        actions.error(message)
        if as_json and not result_printed:  # scripts get one JSON document on stdout either way
            click.echo(json.dumps({"error": message.removeprefix("error: "), "exit_code": code}))
        sys.exit(code)

    try:
        cli.main(args=argv, prog_name="gitops-bot", standalone_mode=False, obj=credentials)
    except click.exceptions.Abort:
        click.echo("gitops-bot: aborted", err=True)
        sys.exit(1)
    except click.ClickException as err:  # usage errors: one line naming the option, then how to get help
        command = err.ctx.command_path if isinstance(err, click.UsageError) and err.ctx else "gitops-bot"
        fail(f"error: {' '.join(err.format_message().split())} (see '{command} --help')", 2)
    except GitopsBotError as err:
        fail(f"error: {credentials.redact(str(err))}", exit_code_for(err), result_printed=err.reported)
    except KeyboardInterrupt:
        click.echo("gitops-bot: interrupted", err=True)
        sys.exit(130)
    except Exception as err:  # a bug: one line, no traceback unless -v
        if verbose:
            logging.getLogger("gitops_bot").exception("internal error")
        fail(credentials.redact(f"internal error: {type(err).__name__}: {err}"), 1)
