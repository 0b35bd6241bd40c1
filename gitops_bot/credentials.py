"""The token: where it comes from, how it reaches git, and how it is kept out of every text."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

TOKEN_VARS = ("GITOPS_BOT_TOKEN", "GITHUB_TOKEN")
REDACTED = "***"


@dataclass(frozen=True)
class Credentials:
    token: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        for name in TOKEN_VARS:
            value = env.get(name, "").strip()
            if value:
                return cls(value)
        return cls(None)

    def _secrets(self) -> list[str]:
        if not self.token:
            return []
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        return [self.token, basic]

    def redact(self, text: str) -> str:
        for secret in self._secrets():
            text = text.replace(secret, REDACTED)
        return text

    def git_env(self, url: str) -> dict[str, str]:
        """Environment that hands the token to git for an http(s) remote, through config variables.

        A URL-scoped `http.<origin>.extraheader` is reset first, so that a header that
        actions/checkout left in the runner's global config is not sent beside ours.
        """
        env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
        parts = urlsplit(url)
        if not self.token or parts.scheme not in ("http", "https"):
            return env
        origin = f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/"
        header = f"Authorization: Basic {self._secrets()[1]}"
        entries = [(f"http.{origin}.extraheader", ""), (f"http.{origin}.extraheader", header)]
        env["GIT_CONFIG_COUNT"] = str(len(entries))
        for i, (key, value) in enumerate(entries):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        return env
