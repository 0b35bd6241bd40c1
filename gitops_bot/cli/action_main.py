"""`gitops-bot-action`: the run step of action.yml, the CLI driven by the Action's inputs.

The inputs arrive as `INPUT_*` variables (action.yml's `env:`); gitops_bot/action/inputs.py turns
them into the CLI's argv, and the CLI then runs in this process with it, so its exit code (0, 1, 2,
3 for degraded health) is the step's. An input refused there is one `::error::` line and exit 2,
with nothing run.
"""

from __future__ import annotations

import os
import shlex
import sys
from typing import NoReturn

from gitops_bot.action.inputs import InputError, from_env
from gitops_bot.action.outputs import annotation
from gitops_bot.cli.app import run as cli_run
from gitops_bot.model.errors import ExitCode
from gitops_bot.model.untrusted import line


def main() -> NoReturn:
    try:
        request = from_env(os.environ)
    except InputError as err:
        print(annotation("error", str(err)), flush=True)
        sys.exit(ExitCode.USAGE)
    except Exception as err:  # a bug: one line, never a traceback
        print(annotation("error", f"internal error: {type(err).__name__}: {err}"), flush=True)
        sys.exit(ExitCode.FAILED)
    for warning in request.warnings:
        print(annotation("warning", warning), flush=True)
    for name in request.unset:
        os.environ.pop(name, None)
    print(line(f"gitops-bot {shlex.join(request.argv)}"), flush=True)  # an input's newline stays visible
    cli_run(list(request.argv))


if __name__ == "__main__":
    main()
