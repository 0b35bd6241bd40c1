"""The one environment a test gives gitops-bot or git: no ambient token, no GIT_*/GITHUB_* leaking
in from the machine running the suite, no system git configuration, no prompt."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pytest

# Tokens, app keys, Actions variables (GITHUB_OUTPUT, GITHUB_API_URL...) and git's own settings
# (GIT_DIR, GIT_CONFIG_COUNT...): whatever the test wants of them it passes in `extra`.
AMBIENT_PREFIXES = ("GIT_", "GITHUB_", "GITOPS_BOT_")
AMBIENT_NAMES = ("SSH_ASKPASS", "DISPLAY")


def clean_env(home: Path | None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """os.environ without the ambient variables, with HOME=`home` (kept as is when None), then `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(AMBIENT_PREFIXES) and k not in AMBIENT_NAMES}
    env.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0"})
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra or {})
    return env


def scrub_environ(monkeypatch: pytest.MonkeyPatch, home: Path, extra: Mapping[str, str] | None = None) -> None:
    """The same environment for code the test runs in its own process: os.environ becomes
    clean_env(home, extra) until the test ends."""
    wanted = clean_env(home, extra)
    for name in [k for k in os.environ if k not in wanted]:
        monkeypatch.delenv(name)
    for name, value in wanted.items():
        monkeypatch.setenv(name, value)
