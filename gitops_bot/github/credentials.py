"""The token: where it comes from, how it reaches git, and how it is kept out of every text.

The token is read from `GITOPS_BOT_TOKEN`, else `GITHUB_TOKEN`, else minted for a GitHub App
(`GITOPS_BOT_APP_ID` + `GITOPS_BOT_APP_PRIVATE_KEY`, app_auth.py), and nowhere else. It reaches git only
through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n` in git's environment: never in
argv, in the remote URL or in `.git/config`. Every text that leaves the process goes through
`Credentials.redact`.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from typing import NamedTuple

from gitops_bot.github.app_auth import SOURCE as APP_SOURCE
from gitops_bot.github.app_auth import AppLogin
from gitops_bot.model.errors import UsageError

TOKEN_VARS = ("GITOPS_BOT_TOKEN", "GITHUB_TOKEN")
# never handed to git or any other program the bot runs (docs/github.md)
SECRET_VARS = (*TOKEN_VARS, "GITOPS_BOT_APP_PRIVATE_KEY", "GITOPS_BOT_SIGNING_KEY")
REDACTED = "***"
# GitHub's tokens (classic, fine-grained, App installation, GITHUB_TOKEN) are 40 characters or more.
# A shorter value is a mistake (`x`, a truncated secret): it is refused before use, and never used to
# redact, since replacing every `t` of every message with *** would hide the message, not a secret.
MIN_TOKEN_LENGTH = 16
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@/\s]+@", re.IGNORECASE)


class Credentials(NamedTuple):
    token: str | None = None
    source: str | None = None  # the environment variable the token came from
    # a GitHub App that mints the token when no token variable is set (docs/github.md)
    app: AppLogin | None = None
    signing_key: str | None = None  # GITOPS_BOT_SIGNING_KEY

    def __repr__(self) -> str:  # never the token, the App's key or the signing key
        return f"Credentials(token={'***' if self.token else None}, source={self.source!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        """The token (or GitHub App) and signing key, from the environment the CLI read at the edge."""
        for name in TOKEN_VARS:
            value = env.get(name, "").strip()
            if value:
                return cls(value, name, AppLogin.from_env(env), _signing_key(env))
        return cls(None, app=AppLogin.from_env(env), signing_key=_signing_key(env))

    def resolved(self, repository: str, timeout: float = 30.0) -> Credentials:
        """These credentials with the GitHub App's installation token minted, if an App is configured
        (each API request of the exchange given at most `timeout` seconds)."""
        if self.token or self.app is None:
            return self
        return self._replace(token=self.app.token(repository, timeout), source=APP_SOURCE)

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
        extra = [*(self.app.secrets() if self.app else []), *_key_secrets(self.signing_key)]
        tokens = [self.token] if self.token else []
        tokens += [t for t in (self.app.minted if self.app else []) if t not in tokens]
        basics = [base64.b64encode(f"x-access-token:{t}".encode()).decode() for t in tokens]
        # a raw token too short to be a secret is never used to redact (it would blank every message)
        return [*(t for t in tokens if len(t) >= MIN_TOKEN_LENGTH), *basics, *extra]

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
        from urllib.parse import urlsplit, urlunsplit  # only for an http(s) remote (docs/startup.md)

        parts = urlsplit(url)
        if not self.token or parts.scheme not in ("http", "https"):
            return []
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        scoped = urlunsplit((parts.scheme, netloc, parts.path or "/", "", ""))
        origin = urlunsplit((parts.scheme, netloc, "/", "", ""))
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        header = f"Authorization: Basic {basic}"
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


def _signing_key(env: Mapping[str, str]) -> str | None:
    return env.get("GITOPS_BOT_SIGNING_KEY", "").strip() or None


def _key_secrets(key: str | None) -> list[str]:
    """A private key, whole and line by line (its base64 body lines), for redaction."""
    if not key:
        return []
    return [key, *(ln for ln in re.split(r"\s+", key) if len(ln) >= 16 and re.fullmatch(r"[A-Za-z0-9+/=]+", ln))]
