"""Local commit signing (`commit.sign: ssh | gpg`) with keys the tests generate, checked by git itself.

The key reaches gitops-bot only as GITOPS_BOT_SIGNING_KEY. After the run it must be in no output, no
file of the work directory, no argv git was started with, and no temporary file left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import RunBot, refused
from tests.support.gitrepo import Remote, git

BOT_EMAIL = "gitops-bot@users.noreply.github.com"
IMAGE = "kai-api-server=5d6e7f8"


def sign_config(tmp_path: Path, mode: str) -> Path:
    cfg = tmp_path / "sign.gitops-bot.yaml"
    cfg.write_text(f"commit:\n  sign: {mode}\n")
    return cfg


def ssh_key(tmp_path: Path) -> tuple[str, str]:
    """A fresh ed25519 key pair: (private key text, public key line)."""
    folder = tmp_path / "keys"
    folder.mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bot", "-f", str(folder / "id")],
                   check=True, capture_output=True, timeout=60)
    private = (folder / "id").read_text()
    public = (folder / "id.pub").read_text().strip()
    (folder / "id").unlink()
    return private, public


def key_body(private: str) -> list[str]:
    return [ln for ln in private.splitlines() if ln and not ln.startswith("-----")]


def assert_key_gone(private: str, proc: subprocess.CompletedProcess[str], workdir: Path, trace: Path,
                    tmpdir: Path) -> None:
    for line in key_body(private):
        assert line not in proc.stdout
        assert line not in proc.stderr
        assert line not in trace.read_text()
    files = [p for p in workdir.rglob("*") if p.is_file() and not p.is_symlink()]
    assert any(p.name == "config" and p.parent.name == ".git" for p in files)
    assert [p for p in files if key_body(private)[0].encode() in p.read_bytes()] == []
    assert list(tmpdir.iterdir()) == []  # the temporary key file (and its folder) were removed
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    argvs = [e["argv"] for e in events if e.get("event") == "start"]
    assert any(a[1:2] == ["fetch"] for a in argvs)


def run_signed(run_bot: RunBot, remote: Remote, tmp_path: Path, mode: str, key: str,
               extra_env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], Path, Path, Path]:
    workdir, trace, tmpdir = tmp_path / "work", tmp_path / "trace2.json", tmp_path / "tmp"
    tmpdir.mkdir()
    proc = run_bot("--repo", remote.url, "--workdir", str(workdir), "--config", str(sign_config(tmp_path, mode)),
                   "--output", "json", "bump", "--env", "staging", "--image", IMAGE,
                   env={"GITOPS_BOT_SIGNING_KEY": key, "GIT_TRACE2_EVENT": str(trace), "TMPDIR": str(tmpdir),
                        **(extra_env or {})})
    return proc, workdir, trace, tmpdir


def test_ssh_signed_commit_verifies_against_allowed_signers_and_the_key_leaves_no_trace(
        run_bot: RunBot, remote: Remote, tmp_path: Path) -> None:
    private, public = ssh_key(tmp_path)
    proc, workdir, trace, tmpdir = run_signed(run_bot, remote, tmp_path, "ssh", private)
    assert proc.returncode == 0, proc.stderr
    commit = json.loads(proc.stdout)["commit"]
    assert commit == remote.head("staging")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'{BOT_EMAIL} namespaces="git" {public}\n')
    verify = subprocess.run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", commit],
                            cwd=remote.bare, capture_output=True, text=True, check=False,
                            env={**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"})
    assert verify.returncode == 0, verify.stderr
    assert f'Good "git" signature for {BOT_EMAIL}' in verify.stderr
    assert_key_gone(private, proc, workdir, trace, tmpdir)
    config = (workdir / ".git" / "config").read_text()
    assert "signingkey" not in config.lower() and "gpgsign" not in config.lower()


def test_a_commit_signed_by_another_key_does_not_verify(run_bot: RunBot, remote: Remote, tmp_path: Path) -> None:
    """The check above can fail: the allowed-signers file really decides."""
    private, _public = ssh_key(tmp_path)
    _other_private, other_public = ssh_key(tmp_path / "other")
    proc, *_ = run_signed(run_bot, remote, tmp_path, "ssh", private)
    assert proc.returncode == 0, proc.stderr
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f'{BOT_EMAIL} namespaces="git" {other_public}\n')
    verify = subprocess.run(["git", "-c", f"gpg.ssh.allowedSignersFile={allowed}", "verify-commit", "staging"],
                            cwd=remote.bare, capture_output=True, text=True, check=False)
    assert verify.returncode != 0


@pytest.mark.parametrize("mode", ["ssh", "gpg"])
def test_signing_without_a_key_is_refused_with_exit_2(run_bot: RunBot, remote: Remote, tmp_path: Path,
                                                       mode: str) -> None:
    err = refused(run_bot, remote, "--config", str(sign_config(tmp_path, mode)), "bump", "--env", "staging",
                  "--image", IMAGE)
    assert f"commit.sign: {mode} needs the private key in GITOPS_BOT_SIGNING_KEY" in err


def test_a_key_that_is_not_a_private_key_is_refused_with_exit_2(run_bot: RunBot, remote: Remote,
                                                                tmp_path: Path) -> None:
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "--config", str(sign_config(tmp_path, "ssh")), "bump", "--env",
                   "staging", "--image", IMAGE, env={"GITOPS_BOT_SIGNING_KEY": "ssh-ed25519 AAAAC3Nz public"})
    assert proc.returncode == 2, proc.stderr
    assert "GITOPS_BOT_SIGNING_KEY is not an SSH private key" in proc.stderr
    assert remote.refs() == refs


def test_gpg_signed_commit_verifies(run_bot: RunBot, remote: Remote, tmp_path: Path) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    try:
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"gitops-bot <{BOT_EMAIL}>",
                        "ed25519", "sign", "never"], env=env, check=True, capture_output=True, timeout=120)
        private = subprocess.run(["gpg", "--batch", "--armor", "--export-secret-keys", BOT_EMAIL], env=env,
                                 check=True, capture_output=True, text=True, timeout=60).stdout
        short = Path(tempfile.mkdtemp(prefix="gb-", dir="/tmp"))  # gpg-agent's socket path must be short
        proc, workdir, trace, tmpdir = run_signed(run_bot, remote, tmp_path, "gpg", private,
                                                  {"TMPDIR": str(short)})
        assert proc.returncode == 0, proc.stderr
        assert list(short.iterdir()) == []  # the temporary GnuPG home was removed
        short.rmdir()
        verify = subprocess.run(["git", "verify-commit", "staging"], cwd=remote.bare, env=env,
                                capture_output=True, text=True, check=False)
        assert verify.returncode == 0, verify.stderr
        assert "Good signature" in verify.stderr
        assert_key_gone(private, proc, workdir, trace, tmpdir)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, check=False, capture_output=True)


def test_history_reads_a_signed_commit(run_bot: RunBot, remote: Remote, tmp_path: Path) -> None:
    private, _ = ssh_key(tmp_path)
    proc, *_ = run_signed(run_bot, remote, tmp_path, "ssh", private)
    assert proc.returncode == 0, proc.stderr
    hist = run_bot("--repo", remote.url, "--output", "json", "history", "--env", "staging")
    assert hist.returncode == 0, hist.stderr
    deploys = json.loads(hist.stdout)["deploys"]
    assert deploys[0]["commit"] == remote.head("staging")
    assert deploys[0]["changes"][0]["to"] == "5d6e7f8"
    assert git("cat-file", "-p", "staging", cwd=remote.bare).count("gpgsig") == 1


def test_a_key_with_a_passphrase_is_refused_with_exit_2_without_prompting(run_bot: RunBot, remote: Remote,
                                                                         tmp_path: Path) -> None:
    folder = tmp_path / "pp"
    folder.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret", "-f", str(folder / "id")],
                   check=True, capture_output=True, timeout=60)
    refs = remote.refs()
    proc = run_bot("--repo", remote.url, "--config", str(sign_config(tmp_path, "ssh")), "bump", "--env",
                   "staging", "--image", IMAGE, env={"GITOPS_BOT_SIGNING_KEY": (folder / "id").read_text()},
                   timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "could not sign with the key in GITOPS_BOT_SIGNING_KEY" in proc.stderr
    assert remote.refs() == refs
