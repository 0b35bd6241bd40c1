"""Values from the repository are data, never markup (docs/trust-model.md): forged trailers, workflow
commands and Markdown in tags, file names and hold reasons, end to end."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunBot, refused
from tests.support.builders import helmrelease
from tests.support.gitrepo import git, make_remote

IMAGE = "ghcr.io/kai-platform/kai-extra"
# An old tag that, written raw into the trailer `Gitops-Bot-Image: IMAGE OLD -> NEW`, makes a line
# saying kai-extra went to 6666666 (a deploy that never happened) and hides the real one.
FORGED = "1a2b3c4 -> 6666666\nhidden:"
EVIL_FILE = "flux/clusters/staging/releases/evil\n::add-mask::leak.yaml"


def release(tag: str, name: str = "extra") -> bytes:
    quoted = json.dumps(tag)  # a YAML double-quoted scalar
    return helmrelease(name, IMAGE, quoted).encode()


def test_a_forged_trailer_in_an_old_tag_leaves_history_truthful(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={"flux/clusters/staging/releases/extra.yaml": release(FORGED)})
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-extra=5d6e7f8")
    assert proc.returncode == 0, proc.stderr
    message = remote.message("staging")
    assert [ln for ln in message.splitlines() if ln.startswith("Gitops-Bot-Image:")] == [
        f"Gitops-Bot-Image: {IMAGE} 1a2b3c4%20->%206666666%0Ahidden: -> 5d6e7f8"]
    assert git("log", "-1", "--format=%(trailers:key=Gitops-Bot-Image,valueonly)", "refs/heads/staging",
               cwd=remote.bare) == f"{IMAGE} 1a2b3c4%20->%206666666%0Ahidden: -> 5d6e7f8"

    history = run_bot("--repo", remote.url, "--output", "json", "history", "--env", "staging")
    assert history.returncode == 0, history.stderr
    [deploy] = json.loads(history.stdout)["deploys"]
    assert deploy["changes"] == [{"image": IMAGE, "from": FORGED, "to": "5d6e7f8"}]

    text = run_bot("--repo", remote.url, "history", "--env", "staging")
    assert text.returncode == 0, text.stderr
    assert "6666666\\nhidden: -> 5d6e7f8" in text.stdout  # one line, the newline shown as \n
    assert not [ln for ln in text.stdout.splitlines() if ln.startswith("hidden")]


def test_a_newline_in_a_hold_reason_forges_no_trailer(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r")
    forged = "frozen\nGitops-Bot-Image: ghcr.io/kai-platform/kai-api-server 1a2b3c4 -> 6666666"
    proc = run_bot("--repo", remote.url, "hold", "--env", "staging", "--image", "kai-api-server",
                   "--reason", forged)
    assert proc.returncode == 0, proc.stderr
    message = remote.message("staging")
    assert "Reason: frozen\\nGitops-Bot-Image: ghcr.io/kai-platform/kai-api-server 1a2b3c4 -> 6666666" in message
    assert not [ln for ln in message.splitlines() if ln.startswith("Gitops-Bot-Image")]
    assert git("log", "-1", "--format=%(trailers:key=Gitops-Bot-Image)", "refs/heads/staging",
               cwd=remote.bare) == ""
    # the reason is kept as given in holds.yaml, and shown on one line where a bump skips the image
    skipped = run_bot("--repo", remote.url, "--output", "json", "bump", "--env", "staging",
                      "--image", "kai-api-server=5d6e7f8")
    assert skipped.returncode == 0, skipped.stderr
    [skip] = json.loads(skipped.stdout)["skipped"]
    assert skip["reason"].startswith(f"held: {forged} (")
    history = run_bot("--repo", remote.url, "--output", "json", "history", "--env", "staging")
    assert json.loads(history.stdout)["deploys"] == []


def test_workflow_commands_in_file_names_and_tags_are_escaped(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={EVIL_FILE: release("x\n::stop-commands::pwned")})
    summary = tmp_path / "summary.md"
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-extra=5d6e7f8",
                   env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    printed = (proc.stdout + proc.stderr).splitlines()
    assert [ln for ln in printed if ln.lstrip().startswith("::")] == []  # no token: no command at all
    assert ("flux/clusters/staging/releases/evil\\n::add-mask::leak.yaml:9: kai-extra "
            "x\\n::stop-commands::pwned -> 5d6e7f8") in printed
    md = summary.read_text()
    assert "`x\\n::stop-commands::pwned`" in md
    assert not [ln for ln in md.splitlines() if ln.lstrip().startswith("::")]
    message = remote.message("staging")
    assert not [ln for ln in message.splitlines() if ln.lstrip().startswith("::")]


def test_a_value_that_starts_with_a_workflow_command_is_broken(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={
        "flux/clusters/staging/releases/extra.yaml": release("::add-mask::5d6e7f8")})
    proc = run_bot("--repo", remote.url, "history", "--env", "staging")  # nothing yet
    assert proc.returncode == 0, proc.stderr
    bump = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-extra=9a8b7c6",
                   env={"GITHUB_ACTIONS": "true"})
    assert bump.returncode == 0, bump.stderr
    status = run_bot("--repo", remote.url, "history", "--env", "staging")
    lines = status.stdout.splitlines() + bump.stderr.splitlines()
    assert not [ln for ln in lines if ln.lstrip().startswith(("::", "##["))]
    assert any("\\x3a:add-mask::5d6e7f8 -> 9a8b7c6" in ln for ln in lines)


def test_backticks_in_a_tag_cannot_close_the_summarys_code_span(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "r", extra={
        "flux/clusters/staging/releases/extra.yaml": release("a`<img src=x onerror=alert(1)>`")})
    summary = tmp_path / "summary.md"
    proc = run_bot("--repo", remote.url, "bump", "--env", "staging", "--image", "kai-extra=5d6e7f8",
                   env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    assert "| kai-extra | `` a`<img src=x onerror=alert(1)>` `` | `5d6e7f8` |" in summary.read_text()


def test_an_alias_bomb_in_holds_yaml_is_exit_2_naming_the_file(tmp_path: Path, run_bot: RunBot) -> None:
    bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    bomb += "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    bomb += "holds:\n  ghcr.io/kai-platform/kai-api-server: {reason: *a9}\n"
    remote = make_remote(tmp_path / "r", extra={".gitops-bot/holds.yaml": bomb.encode()})
    stderr = refused(run_bot, remote, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8")
    [message] = stderr.splitlines()
    assert message.startswith("gitops-bot: error: .gitops-bot/holds.yaml:")
    assert "aliases expand to more than" in message


def test_a_config_path_holding_a_workflow_command_is_printed_escaped(tmp_path: Path, run_bot: RunBot) -> None:
    """The Action's `config` input reaches --config as given."""
    for args in (["--config", "x\n::add-mask::leak", "environment", "--ref", "refs/heads/main"],
                 ["--output", "x\n::stop-commands::leak", "environment", "--ref", "refs/heads/main"],
                 ["environment", "--ref", "refs/heads/x\n::add-mask::leak"]):
        proc = run_bot(*args, env={"GITHUB_ACTIONS": "true"})
        assert proc.returncode == 2
        lines = (proc.stdout + proc.stderr).splitlines()
        assert [ln for ln in lines if ln.lstrip().startswith("::") and not ln.startswith("::error")] == []
        assert any("x\\n::" in ln for ln in lines), lines
