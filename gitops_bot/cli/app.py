"""The click group, command registration, and main(): where errors and results become exit codes
(through gitops_bot.cli.exits)."""

from __future__ import annotations

import itertools
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

import click

from gitops_bot import __version__
from gitops_bot.action.outputs import ActionsWriter
from gitops_bot.cli.exits import Rendered, exit_code
from gitops_bot.cli.lazygroup import LazyGroup
from gitops_bot.cli.nonempty import refuse_empty
from gitops_bot.cli.options import Run, global_options
from gitops_bot.model.errors import ExitCode, GitopsBotError
from gitops_bot.model.untrusted import line

if TYPE_CHECKING:
    import logging

# Commands that read only the configuration and log nothing: `logging` is not even imported for
# them, nor for `--help`, `--version` or a usage error of the group (docs/startup.md). Every other
# command has the redacting handlers installed when it is loaded, before any of its modules logs.
_SILENT = frozenset({"environment"})


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


def _register(load_all: bool = True, start_logging: Callable[[], None] = lambda: None) -> None:
    """Name the commands; main() imports only the one that runs (docs/startup.md). A loaded
    command gets the empty-value check and, unless it is one of `_SILENT`, logging."""
    from gitops_bot.cli.commands import COMMANDS

    def prepare(command: click.Command) -> None:
        refuse_empty(command)
        if command.name not in _SILENT:
            start_logging()

    assert isinstance(cli, LazyGroup)
    cli.table, cli.prepare = COMMANDS, prepare
    if load_all:
        cli.load_all()
    refuse_empty(cli)


def _setup_logging(verbose: bool, redact: Callable[[str], str], actions: ActionsWriter) -> None:
    """Logs go to stderr, redacted; inside GitHub Actions, warnings also become ::warning:: lines."""
    import logging

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
    run = Run.from_env(os.environ)  # the one read of the process environment (credentials, run context)
    credentials = run.credentials
    actions = ActionsWriter(run.context, credentials.redact)
    actions.mask(credentials.maskable)
    if credentials.app is not None:
        credentials.app.announce = actions.mask  # a minted App token is masked the moment it exists
    args = argv if argv is not None else sys.argv[1:]
    verbose = any(a in ("-v", "--verbose") for a in args)
    as_json = "--output=json" in args or ("--output", "json") in itertools.pairwise(args)

    def start_logging() -> None:
        _setup_logging(verbose, credentials.redact, actions)

    _register(load_all=False, start_logging=start_logging)
    if "logging" in sys.modules:  # main() called again in one process: its commands are loaded already
        start_logging()

    def fail(message: str, code: int, result_printed: bool = False) -> NoReturn:
        message = line(message)  # errors quote repository values: one line, no workflow command
        click.echo(f"gitops-bot: {message}", err=True)
        actions.error(message)
        if as_json and not result_printed:  # scripts get one JSON document on stdout either way
            import json  # only on this path: --help and environment start without it (docs/startup.md)

            click.echo(json.dumps({"error": message.removeprefix("error: "), "exit_code": int(code)}))
        sys.exit(int(code))

    try:
        rv = cli.main(args=argv, prog_name="gitops-bot", standalone_mode=False, obj=run)
    except click.exceptions.Abort as err:
        click.echo("gitops-bot: aborted", err=True)
        sys.exit(exit_code(err))
    except click.ClickException as err:  # usage errors: one line naming the option, then how to get help
        command = err.ctx.command_path if isinstance(err, click.UsageError) and err.ctx else "gitops-bot"
        fail(f"error: {' '.join(err.format_message().split())} (see '{command} --help')", exit_code(err))
    except GitopsBotError as err:
        fail(f"error: {credentials.redact(str(err))}", exit_code(err))
    except KeyboardInterrupt as err:
        click.echo("gitops-bot: interrupted", err=True)
        sys.exit(exit_code(err))
    except Exception as err:  # a bug: one line, no traceback unless -v
        if verbose:
            import logging

            start_logging()
            logging.getLogger("gitops_bot").exception("internal error")
        fail(credentials.redact(f"internal error: {type(err).__name__}: {err}"), exit_code(err))
    if isinstance(rv, Rendered) and rv.code != ExitCode.OK:  # the result is printed; it carries its exit code
        fail(f"error: {credentials.redact(rv.error)}", rv.code, result_printed=True)


def run(argv: list[str] | None = None) -> NoReturn:
    """The console script: `main()`, then the process ends as soon as its output is written.

    Python's own shutdown frees every object of every loaded module, one by one: about 25 ms of a
    0.33 s bump (docs/startup.md) spent when nothing is left to do. By the time `main()` returns the
    run has cleaned up after itself (the temporary store, signing keys and indexes are removed by
    the `with` blocks that made them), so the output streams and logging are flushed and the process
    exits with `os._exit`.
    """
    try:
        main(argv)
        code = 0
    except SystemExit as done:
        code = _exit_status(done.code)
    os._exit(_flushed(code))


def _exit_status(code: object) -> int:
    """The status `sys.exit(code)` would end the process with (a message is printed, status 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _flushed(code: int) -> int:
    """Flush logging and the output streams; a stream that cannot be written (a closed pipe) is
    exit 120, as Python's own shutdown reports it."""
    if "logging" in sys.modules:  # a command that logs (not --help nor environment)
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120
    return code
