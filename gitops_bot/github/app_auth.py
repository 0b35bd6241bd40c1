"""GitHub App authentication: the App's id and private key become an installation token.

`GITOPS_BOT_APP_ID` + `GITOPS_BOT_APP_PRIVATE_KEY` (PEM), and optionally
`GITOPS_BOT_APP_INSTALLATION_ID` (else the installation is looked up for the GitOps repository).
PyGithub signs the App's JWT (RS256, via PyJWT and cryptography) and exchanges it for an
installation token, minted once per run. From then on that token is used exactly as a token from
`GITOPS_BOT_TOKEN` is (git and API), and it is masked and redacted the same way (docs/github.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from gitops_bot.model.errors import GitHubError, UsageError

# PyGithub and cryptography are imported where a token is minted: most runs use a plain token, and
# those imports cost ~0.1 s (docs/decisions/0003-pygithub-boundary.md).

APP_ID_VAR = "GITOPS_BOT_APP_ID"
APP_KEY_VAR = "GITOPS_BOT_APP_PRIVATE_KEY"
APP_INSTALLATION_VAR = "GITOPS_BOT_APP_INSTALLATION_ID"
SOURCE = "the GitHub App (GITOPS_BOT_APP_ID)"
_APP_ID = re.compile(r"[0-9]+|Iv[0-9A-Za-z.]+")  # the numeric App ID, or its client ID
T = TypeVar("T")
_PEM_LINE = re.compile(r"[A-Za-z0-9+/=]{16,}")


class AppLogin:
    """The App's settings, and the installation token once minted (kept for masking and redaction)."""

    def __init__(self, app_id: str, private_key: str, installation_id: str | None = None,
                 api: str | None = None):
        self.app_id = app_id
        self.api = api  # GITHUB_API_URL as given (checked when the token is minted)
        self._private_key = private_key
        self.installation_id = installation_id
        self.minted: list[str] = []
        self.announce: Callable[[str], None] | None = None  # told each minted token (::add-mask::)

    def __repr__(self) -> str:
        return f"AppLogin(app_id={self.app_id!r}, installation_id={self.installation_id!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AppLogin | None:
        app_id = env.get(APP_ID_VAR, "").strip()
        key = env.get(APP_KEY_VAR, "")
        if not app_id and not key.strip():
            return None
        return cls(app_id, key, env.get(APP_INSTALLATION_VAR, "").strip() or None, env.get("GITHUB_API_URL"))

    def secrets(self) -> list[str]:
        """What must never be printed: the key (whole, and each line of its body) and minted tokens."""
        key = self._private_key.strip()
        lines = [ln for ln in re.split(r"\s+|\\n", key) if _PEM_LINE.fullmatch(ln)]
        return [s for s in (key, *lines, *self.minted) if s]

    def token(self, repository: str, timeout: float = 30.0) -> str:
        """The installation token for `repository` (OWNER/NAME), minted on first use."""
        if self.minted:
            return self.minted[-1]
        from github import Auth, GithubIntegration

        from gitops_bot.github.client import api_url, retry_policy

        pem = self._checked_key()
        installation = self._installation_id()
        auth = Auth.AppAuth(self.app_id if not self.app_id.isdigit() else int(self.app_id), pem)
        client = GithubIntegration(auth=auth, base_url=api_url(self.api), timeout=max(1, int(timeout)),
                                   retry=retry_policy(), seconds_between_requests=None,
                                   seconds_between_writes=None)
        if installation is None:
            owner, name = _slug(repository)
            installation = _exchange(lambda: int(client.get_repo_installation(owner, name).id),
                                     f"find the App's installation on {repository}", repository)
        inst: int = installation
        token = _exchange(lambda: client.get_access_token(inst).token,
                          f"exchange the App's key for an installation token (installation {inst})", repository)
        if not token:
            raise GitHubError("GitHub answered the installation-token request without a token")
        self.minted.append(token)
        if self.announce is not None:
            self.announce(token)
        return token

    def _checked_key(self) -> str:
        if not self.app_id:
            raise UsageError(f"{APP_KEY_VAR} is set but {APP_ID_VAR} is empty: set it to the App's ID "
                             f"(the App's settings page, 'App ID')")
        if not _APP_ID.fullmatch(self.app_id):
            raise UsageError(f"{APP_ID_VAR} must be the App's numeric ID (or its client ID), "
                             f"got {self.app_id!r}")
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        text = self._private_key.strip()
        if not text:
            raise UsageError(f"{APP_ID_VAR} is set but {APP_KEY_VAR} is empty: set it to the App's "
                             f"private key (the .pem file GitHub generated)")
        if "\n" not in text and "\\n" in text:  # pasted into a one-line variable
            text = text.replace("\\n", "\n")
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise UsageError(f"{APP_KEY_VAR} is not a usable PEM private key: give the whole .pem file "
                             f"GitHub generated for the App (BEGIN and END lines included, no "
                             f"passphrase)") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise UsageError(f"{APP_KEY_VAR} is not an RSA key; GitHub Apps sign with the RSA key "
                             f"GitHub generated for the App")
        return text + "\n"

    def _installation_id(self) -> int | None:
        if self.installation_id is None:
            return None
        if not self.installation_id.isdigit():
            raise UsageError(f"{APP_INSTALLATION_VAR} must be a number (the installation's ID), got "
                             f"{self.installation_id!r}")
        return int(self.installation_id)


def _slug(repository: str) -> tuple[str, str]:
    if repository.count("/") != 1 or "://" in repository or repository.startswith(("/", ".", "~")):
        raise UsageError(f"GitHub App authentication needs the repository as OWNER/NAME to find the "
                         f"App's installation, not {repository!r}: give --repo OWNER/NAME or set "
                         f"{APP_INSTALLATION_VAR}")
    owner, name = repository.split("/")
    return owner, name.removesuffix(".git")


def _exchange(fn: Callable[[], T], what: str, repository: str) -> T:
    from github import GithubException

    try:
        return fn()
    except GithubException as err:
        hint = {
            401: f"GitHub refused the App's JWT: check that {APP_ID_VAR} is the ID of the App this key "
                 f"belongs to, that the key was not revoked, and the runner's clock",
            403: "the App may not do this (suspended, or the installation lacks access)",
            404: (f"the App is not installed on {repository} (install it there, or set "
                  f"{APP_INSTALLATION_VAR})"),
        }.get(err.status, "")
        data = err.data if isinstance(err.data, dict) else {}
        said = str(data.get("message") or "").strip() or "no message"
        text = f"GitHub API {err.status} while trying to {what}: {said}"
        raise GitHubError(f"{text} ({hint})" if hint else text) from None
    except Exception as err:  # requests' connection errors and the like
        if type(err).__module__.startswith(("requests", "urllib3")) or isinstance(err, OSError):
            raise GitHubError(f"GitHub API unreachable while trying to {what}: {type(err).__name__}") from None
        raise
