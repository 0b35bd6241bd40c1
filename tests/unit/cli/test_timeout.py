"""`--timeout` is a global option; a command with its own `--timeout` (as `wait` has) leaves it out."""

from __future__ import annotations

import click
from click.testing import CliRunner

from gitops_bot.cli.options import global_options, options


def test_a_command_may_keep_its_own_timeout() -> None:
    seen: dict[str, object] = {}

    @click.group()
    @global_options
    def group() -> None:
        pass

    @group.command("wait")
    @click.option("--timeout", "timeout", type=float)
    @global_options(skip=("timeout",))
    @click.pass_context
    def wait(ctx: click.Context, timeout: float | None) -> None:
        seen["own"] = timeout
        seen["global"] = options(ctx).timeout

    result = CliRunner().invoke(group, ["--timeout", "30", "wait", "--timeout", "900.5"])
    assert result.exit_code == 0, result.output
    assert seen == {"own": 900.5, "global": 30}

    @group.command("bump")
    @global_options
    @click.pass_context
    def bump(ctx: click.Context) -> None:
        seen["bump"] = options(ctx).timeout

    assert CliRunner().invoke(group, ["bump", "--timeout", "45"]).exit_code == 0
    assert seen["bump"] == 45
