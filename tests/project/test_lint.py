"""The code is lint-clean and type-checks: ruff with the rule set of pyproject.toml over the package,
the tests and the benches, and mypy strict over gitops_bot/. Run here so that CI holds the line."""

from __future__ import annotations

import subprocess
import sys

from tests.support.paths import REPO


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)


def test_ruff_finds_nothing() -> None:
    proc = _run("ruff", "check", "--no-cache", "--output-format", "concise", "gitops_bot", "tests", "bench")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_finds_nothing() -> None:
    proc = _run("mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert proc.returncode == 0, proc.stdout + proc.stderr
