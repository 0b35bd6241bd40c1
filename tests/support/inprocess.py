"""Run the CLI in this process, as the unit tests of delivery, GitHub and App auth do."""

from __future__ import annotations

import pytest

from gitops_bot.cli.app import main


def invoke(capsys: pytest.CaptureFixture[str], argv: list[str], secret: str | None = None) -> tuple[int, str, str]:
    """`gitops-bot ARGV` in-process: (exit code, stdout, stderr). With `secret`, also assert that it
    reached neither stream."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    if secret is not None:
        assert secret not in out + err
    return code, out, err
