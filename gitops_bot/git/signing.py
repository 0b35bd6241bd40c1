"""Signing commits locally (`commit.sign: ssh | gpg`) with the key in `GITOPS_BOT_SIGNING_KEY`.

The key exists on disk only for the duration of one `git commit`: in a fresh temporary folder
(mode 700) as a file of mode 600 (ssh), or imported into a temporary GnuPG home (gpg), removed
right after. It never reaches argv, `.git/config`, logs or outputs: git is told the file's path (or
the key's fingerprint) with `-c` options of that one command (docs/github.md).
`commit.sign: github` is not handled here: GitHub itself creates and signs those commits
(api_commit.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitops_bot.model.errors import GitError, UsageError

KEY_VAR = "GITOPS_BOT_SIGNING_KEY"
LOCAL_MODES = ("ssh", "gpg")
# git's words when the signing program could not sign (a passphrase, a key it cannot use)
_SIGN_FAILED = re.compile(r"failed to sign|Load key|load public key|incorrect passphrase|"
                          r"No secret key|failed to write commit object", re.IGNORECASE)


@dataclass(frozen=True)
class Signing:
    """What one `git commit` needs to sign: `-c` options before the subcommand, and environment."""

    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


NO_SIGNING = Signing()


def check_signing(mode: str, key: str | None) -> None:
    """Refuse `commit.sign: ssh|gpg` without a key before anything is planned (exit 2)."""
    if mode in LOCAL_MODES and not key:
        raise UsageError(f"commit.sign: {mode} needs the private key in {KEY_VAR} (the key's text, "
                         f"not a path); or set commit.sign: github to let GitHub sign")


@contextlib.contextmanager
def signing(mode: str, key: str | None) -> Iterator[Signing]:
    """A context in which git commits are signed the `mode` way (nothing for none/github)."""
    if mode not in LOCAL_MODES:
        yield NO_SIGNING
        return
    check_signing(mode, key)
    assert key is not None
    folder = Path(tempfile.mkdtemp(prefix="gitops-bot-sign-", dir=_short_tmp() if mode == "gpg" else None))
    try:
        yield _ssh(folder, key) if mode == "ssh" else _gpg(folder, key)
    except GitError as err:
        if not _SIGN_FAILED.search(str(err)):
            raise
        raise UsageError(f"commit.sign: {mode}: git could not sign with the key in {KEY_VAR} (a key with a "
                         f"passphrase cannot be used: export one without); nothing was pushed") from None
    finally:
        if mode == "gpg":  # stop the agent gpg started for that home, then remove it
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**_clean_env(), "GNUPGHOME": str(folder)},
                               capture_output=True, timeout=30, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _short_tmp() -> str | None:
    """gpg-agent's socket lives in GNUPGHOME, and a socket path may not exceed ~107 bytes."""
    base = tempfile.gettempdir()
    return base if len(base) <= 40 or not Path("/tmp").is_dir() else "/tmp"  # noqa: S108


def _text(key: str) -> str:
    text = key.strip()
    if "\n" not in text and "\\n" in text:  # pasted into a one-line variable
        text = text.replace("\\n", "\n")
    return text + "\n"


def _ssh(folder: Path, key: str) -> Signing:
    text = _text(key)
    if "PRIVATE KEY-----" not in text:
        raise UsageError(f"{KEY_VAR} is not an SSH private key: give the whole key file "
                         f"(-----BEGIN OPENSSH PRIVATE KEY----- ... -----END OPENSSH PRIVATE KEY-----), "
                         f"without a passphrase")
    path = folder / "signing-key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    # never a passphrase prompt: ssh-keygen asks a program that answers nothing instead of the terminal
    return Signing(("-c", "gpg.format=ssh", "-c", f"user.signingKey={path}", "-c", "commit.gpgSign=true"),
                   {"SSH_ASKPASS": "false", "SSH_ASKPASS_REQUIRE": "force"})


def _gpg(folder: Path, key: str) -> Signing:
    text = _text(key)
    if "PRIVATE KEY BLOCK-----" not in text:
        raise UsageError(f"{KEY_VAR} is not an armored OpenPGP secret key: give the output of "
                         f"`gpg --armor --export-secret-keys KEYID` (no passphrase)")
    env = {**_clean_env(), "GNUPGHOME": str(folder)}
    (folder / "gpg.conf").write_text("batch\npinentry-mode loopback\n")  # never a passphrase prompt
    try:
        imported = subprocess.run(["gpg", "--batch", "--quiet", "--import"], input=text.encode(), env=env,
                                  capture_output=True, timeout=60, check=False)
        listing = subprocess.run(["gpg", "--batch", "--with-colons", "--list-secret-keys"], env=env,
                                 capture_output=True, timeout=60, check=False)
    except OSError as err:
        raise GitError(f"commit.sign: gpg needs gpg on PATH: {err.strerror}") from None
    except subprocess.TimeoutExpired:
        raise GitError("gpg did not import the signing key within 60 s") from None
    fingerprints = [ln.split(":")[9] for ln in listing.stdout.decode().splitlines() if ln.startswith("fpr:")]
    if imported.returncode != 0 or not fingerprints:
        said = [ln for ln in imported.stderr.decode("utf-8", "replace").splitlines() if ln.strip()][-1:]
        raise UsageError(f"{KEY_VAR} could not be imported by gpg ({'; '.join(said) or 'no secret key'}): "
                         f"give the output of `gpg --armor --export-secret-keys KEYID` (no passphrase)")
    return Signing(("-c", "gpg.format=openpgp", "-c", f"user.signingKey={fingerprints[0]}",
                    "-c", "commit.gpgSign=true"), {"GNUPGHOME": str(folder)})


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("GITOPS_BOT_") and k != "GITHUB_TOKEN"}
