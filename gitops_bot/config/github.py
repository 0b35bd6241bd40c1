"""The `commit.sign` key and the `wait:` section of `.gitops-bot.yaml` (docs/github.md).

Parsed here, strictly, and handed to `config.py` as plain values: an unknown key, a wrong type or
an out-of-range timeout is refused with the key's name (exit 2), like every other config error.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from gitops_bot.model.errors import ConfigError

SIGN_MODES = ("none", "github", "ssh", "gpg")
DEFAULT_CONTEXTS = ("kustomization/*",)
DEFAULT_WAIT_TIMEOUT = 600.0
MAX_WAIT_TIMEOUT = 6 * 3600.0  # a GitHub-hosted job runs at most 6 hours


class WaitConfig(NamedTuple):
    """Which commit-status / check-run contexts `--wait` and `wait` wait for, and for how long."""

    contexts: tuple[str, ...] = DEFAULT_CONTEXTS
    timeout: float = DEFAULT_WAIT_TIMEOUT

    @classmethod
    def from_raw(cls, raw: Any) -> WaitConfig:
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise ConfigError("config key 'wait' must be a mapping (contexts, timeout)")
        for key in raw:
            if key not in ("contexts", "timeout"):
                raise ConfigError(f"unknown config key 'wait.{key}'")
        contexts = raw.get("contexts", list(DEFAULT_CONTEXTS))
        if isinstance(contexts, str):
            contexts = [contexts]
        if (not isinstance(contexts, list) or not contexts
                or not all(isinstance(c, str) and c.strip() for c in contexts)):
            raise ConfigError("config key 'wait.contexts' must be a non-empty list of context patterns "
                              "(e.g. ['kustomization/*'])")
        return cls(tuple(c.strip() for c in contexts), wait_timeout(raw.get("timeout", DEFAULT_WAIT_TIMEOUT),
                                                                    "config key 'wait.timeout'"))


def wait_timeout(value: Any, what: str) -> float:
    """A timeout in seconds: a number from 0 to 6 hours."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_WAIT_TIMEOUT:
        raise ConfigError(f"{what} must be a number of seconds from 0 to {MAX_WAIT_TIMEOUT:g}, got {value!r}")
    return float(value)


def sign_mode(value: Any) -> str:
    """`commit.sign`: none (default), github (GitHub creates and signs the commit), ssh or gpg."""
    if value is None or value is False:
        return "none"
    if value not in SIGN_MODES:
        raise ConfigError(f"config key 'commit.sign' must be one of {', '.join(SIGN_MODES)}, got {value!r}")
    return str(value)


def context_pattern(pattern: str) -> re.Pattern[str]:
    """`*` matches any run of characters, `/` included; every other character stands for itself."""
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern)))
