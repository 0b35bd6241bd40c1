"""The token: where it comes from, how it reaches git, and how it is kept out of every text.

The token is read from `GITOPS_BOT_TOKEN`, else `GITHUB_TOKEN`, and nowhere else. It reaches git only
through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` in git's environment: never in
argv, in the remote URL or in `.git/config`. Every text that leaves the process goes through
`Credentials.redact`.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from gitops_bot.errors import UsageError

TOKEN_VARS = ("GITOPS_BOT_TOKEN", "GITHUB_TOKEN")
REDACTED = "***"
# GitHub's tokens (classic, fine-grained, App installation, GITHUB_TOKEN) are 40 characters or more.
# A shorter value is a mistake (`x`, a truncated secret): it is refused before use, and never used to
# redact, since replacing every `t` of every message with *** would hide the message, not a secret.
MIN_TOKEN_LENGTH = 16
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@/\s]+@", re.IGNORECASE)


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    source: str | None = None  # the environment variable the token came from

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        for name in TOKEN_VARS:
            value = env.get(name, "").strip()
            if value:
                return cls(value, name)
        return cls(None)

    @property
    def maskable(self) -> str | None:
        """The token to register with `::add-mask::`: only one long enough to be a secret."""
        return self.token if self.token and len(self.token) >= MIN_TOKEN_LENGTH else None

    def check(self) -> None:
        """Refuse (exit 2) a token too short to be one, before it is sent anywhere."""
        if self.token and len(self.token) < MIN_TOKEN_LENGTH:
            raise UsageError(f"the token in {self.source or 'the environment'} is {len(self.token)} "
                             f"character(s) long, too short to be a GitHub token (they have 40 or more); "
                             f"set it to the real token")

    def _secrets(self) -> list[str]:
        if not self.token:
            return []
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        return [self.token, basic] if len(self.token) >= MIN_TOKEN_LENGTH else [basic]

    def redact(self, text: str) -> str:
        """`text` without the token (raw or as the Basic header carries it) or URL passwords."""
        for secret in self._secrets():
            text = text.replace(secret, REDACTED)
        return _URL_PASSWORD.sub(rf"\g<head>{REDACTED}@", text)

    def git_config(self, url: str) -> list[tuple[str, str]]:
        """Config entries that hand the token to git for an http(s) `url` (none for other remotes).

        - `http.<url>.extraheader` is first reset (empty value), then set to our header. It is
          scoped to the full remote URL, the most specific match git knows, so that a header that
          actions/checkout left in the runner's global config (`http.https://github.com/.extraheader`)
          is dropped instead of being sent beside ours.
        - `credential.<origin>.helper` is reset, so that a rejected token is not retried with (and
          then erased from) whatever a credential helper of the machine holds.
        """
        parts = urlsplit(url)
        if not self.token or parts.scheme not in ("http", "https"):
            return []
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        scoped = urlunsplit((parts.scheme, netloc, parts.path or "/", "", ""))
        origin = urlunsplit((parts.scheme, netloc, "/", "", ""))
        header = f"Authorization: Basic {self._secrets()[1]}"
        return [
            (f"http.{scoped}.extraheader", ""),
            (f"http.{scoped}.extraheader", header),
            (f"credential.{origin}.helper", ""),
        ]

    def git_env(self, url: str, inherited: Mapping[str, str] | None = None) -> dict[str, str]:
        """Variables to add to git's environment for `url`, on top of the `inherited` environment.

        Config entries the user passes through `GIT_CONFIG_COUNT` are kept; ours come after them,
        so ours win. Terminal prompts are always off: a run never waits for input.
        """
        base = os.environ if inherited is None else inherited
        env = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}
        entries = self.git_config(url)
        if not entries:
            return env
        env["GIT_ASKPASS"] = ""  # set but empty: git asks no program (not even SSH_ASKPASS)
        try:
            first = int(base.get("GIT_CONFIG_COUNT", "0"))
        except ValueError:
            first = 0
        first = max(first, 0)
        for i, (key, value) in enumerate(entries, start=first):
            env[f"GIT_CONFIG_KEY_{i}"] = key
            env[f"GIT_CONFIG_VALUE_{i}"] = value
        env["GIT_CONFIG_COUNT"] = str(first + len(entries))
        return env
