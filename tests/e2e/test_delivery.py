"""Delivery end to end: minimal clone, --workdir reuse, reconcile on a lost race, refusals, failures,
progress and clean JSON; the installed `gitops-bot` against bare remotes over file://."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import BOT, RunBot, bot_env
from tests.support.gitrepo import FLUX, Remote, git, make_remote

STAGING = "flux/clusters/staging"
RELEASES = f"{STAGING}/releases"
API = f"{RELEASES}/api-server.yaml"
COORDINATOR = f"{RELEASES}/coordinator.yaml"
KAI = ["api-server", "coordinator", "quality-assessment", "image-preprocessing", "colmap-sfm", "point-cloud",
       "model-generator", "diffusion-nerf", "nerf-mesh-extractor", "format-converter", "workflow-finalizer"]
PROGRESS = ("Receiving objects", "Writing objects", "Enumerating objects", "Counting objects")


def bump_args(remote: Remote, *images: str, env: str = "staging") -> list[str]:
    args = ["--repo", remote.url, "bump", "--env", env]
    for image in images:
        args += ["--image", image]
    return args


def has_tag(data: bytes, tag: str) -> bool:
    """`tag: TAG`, quoted or not, as the file's own style has it."""
    return re.search(rb"\btag: ([\"']?)" + re.escape(tag.encode()) + rb"\1\s", data) is not None


def trace_argvs(trace: Path) -> list[list[str]]:
    """The argv of every git process of a run, from GIT_TRACE2_EVENT."""
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    return [e["argv"][1:] for e in events if e.get("event") == "start"]


# -- the minimal clone --------------------------------------------------------------------------------

def test_clone_is_minimal(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    workdir, trace = tmp_path / "work", tmp_path / "trace.json"
    proc = run_bot("--workdir", str(workdir), *bump_args(remote, "kai-api-server=5d6e7f8"),
                   env={"GIT_TRACE2_EVENT": str(trace)})
    assert proc.returncode == 0, proc.stderr
    fetches = [a for a in trace_argvs(trace) if a[:1] == ["fetch"]]
    assert "--depth=1" in fetches[0]
    assert "--filter=blob:none" in fetches[0]
    assert fetches[0][-1] == "+refs/heads/staging:refs/remotes/origin/staging"  # one branch
    assert not [a for a in trace_argvs(trace) if a[:1] == ["clone"]]
    assert (workdir / ".git" / "shallow").is_file()
    # no work tree: nothing checked out, no file of the repository on disk, a bare object store
    assert not [a for a in trace_argvs(trace) if a[:1] in (["checkout"], ["sparse-checkout"], ["add"])]
    assert [p.name for p in workdir.iterdir()] == [".git"]
    assert git("rev-parse", "--is-bare-repository", cwd=workdir / ".git") == "true"


# -- --workdir reuse ----------------------------------------------------------------------------------

def test_workdir_reuse_fetches_and_sees_others_commits(remote: Remote, run_bot: RunBot,
                                                       tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    first = run_bot("--workdir", str(workdir), *bump_args(remote, "kai-api-server=5d6e7f8"))
    assert first.returncode == 0, first.stderr
    colleague = remote.commit_file(
        "staging", COORDINATOR,
        remote.show("staging", COORDINATOR).replace(b'tag: "1a2b3c4"', b'tag: "c011ea9"'), "hand edit")
    trace = tmp_path / "second.json"
    second = run_bot("--workdir", str(workdir), "--output", "json",
                     *bump_args(remote, "kai-model-generator=9a8b7c6"), env={"GIT_TRACE2_EVENT": str(trace)})
    assert second.returncode == 0, second.stderr
    commands = [a[:2] for a in trace_argvs(trace)]
    assert ["fetch", "--quiet"] in commands
    assert not [c for c in commands if c[0] in ("init", "clone") or c == ["remote", "add"]]
    result = json.loads(second.stdout)
    assert git("rev-parse", f"{result['commit']}^", cwd=remote.bare) == colleague  # on top of it
    assert has_tag(remote.show("staging", COORDINATOR), "c011ea9")
    assert has_tag(remote.show("staging", API), "5d6e7f8")
    assert has_tag(remote.show("staging", f"{RELEASES}/model-generator.yaml"), "9a8b7c6")


# -- contention: many bumpers at once -----------------------------------------------------------------

def many_images_remote(tmp: Path) -> tuple[Remote, list[tuple[str, str]]]:
    """A remote whose staging holds 16 images (the Kai tree plus four more releases): (image, file)."""
    tree = tmp / "tree"
    shutil.copytree(FLUX, tree)
    template = (tree / "clusters/staging/releases/api-server.yaml").read_text()
    extra = [f"extra-{i}" for i in range(1, 5)]
    for name in extra:
        (tree / f"clusters/staging/releases/{name}.yaml").write_text(template.replace("api-server", name))
    images = [(f"kai-{svc}", f"{RELEASES}/{svc}.yaml") for svc in [*KAI, *extra]]
    images.append(("bitnami/redis", f"{RELEASES}/redis.yaml"))
    return make_remote(tmp / "remote", tree=tree), images


@pytest.mark.parametrize(("processes", "run"), [(16, 1), (8, 1), (8, 2), (8, 3)])
def test_concurrent_bumps_all_land_once(processes: int, run: int, tmp_path: Path) -> None:
    remote, images = many_images_remote(tmp_path)
    images = images[:processes] if processes == 16 else images[run:run + processes]
    before = remote.count("staging")
    env = bot_env(tmp_path)
    procs = [subprocess.Popen([BOT, *bump_args(remote, f"{image}=build-{i:02d}")], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, (image, _) in enumerate(images)]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [(rc, err) for rc, _, err in outcomes if rc != 0] == []
    assert remote.count("staging") == before + len(images)
    for i, (image, path) in enumerate(images):
        assert has_tag(remote.show("staging", path), f"build-{i:02d}"), image
    trailers = git("log", "--format=%(trailers:key=Gitops-Bot-Image,valueonly)", f"-{len(images)}",
                   "refs/heads/staging", cwd=remote.bare).split("\n\n")
    assert sorted(t.split()[0].rsplit("/", 1)[-1] for t in trailers if t.strip()) == sorted(
        image.rsplit("/", 1)[-1] for image, _ in images)  # each image exactly once


# -- a lost race, made deterministic by a server-side hook --------------------------------------------

def hook(remote: Remote, body: str) -> Path:
    """Install a pre-receive hook; every invocation appends a line to the returned counter file."""
    counter = remote.bare / "hook-calls"
    script = remote.bare / "hooks" / "pre-receive"
    script.write_text(f'#!/bin/sh\ncat >/dev/null\necho called >> "{counter}"\n{body}\n')
    script.chmod(0o755)
    return counter


def competitor(remote: Remote, home: Path, *args: str) -> Path:
    """On the first push only, another gitops-bot run pushes first (from inside the hook), then
    the hook lets the original push proceed: its ref update then fails, as in a real race."""
    return hook(remote, f"""\
if mkdir "{remote.bare / 'competed'}" 2>/dev/null; then
  env -i PATH="$PATH" HOME="{home}" GIT_CONFIG_NOSYSTEM=1 "{BOT}" {' '.join(args)} \\
    > "{remote.bare / 'competitor.log'}" 2>&1 || echo "the competitor failed" >&2
fi
exit 0""")


def semver_config(tmp_path: Path) -> Path:
    config = tmp_path / "semver.yaml"
    config.write_text("policy: semver\n")
    return config


def test_race_replans_and_refuses_a_downgrade(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    config = semver_config(tmp_path)
    before = remote.count("staging")
    counter = competitor(remote, tmp_path / "home", "--config", str(config),
                         *bump_args(remote, "kai-api-server=2.0.0"))
    proc = run_bot("-v", "--config", str(config), *bump_args(remote, "kai-api-server=1.1.0"))
    assert proc.returncode == 2, proc.stderr
    assert "re-planning" in proc.stderr  # the first plan (1a2b3c4 -> 1.1.0) was fine; the re-plan is not
    assert proc.stderr.splitlines()[-1] == (
        "gitops-bot: error: policy semver: ghcr.io/kai-platform/kai-api-server 2.0.0 -> 1.1.0 is a "
        "downgrade (use --allow-downgrade)")
    assert has_tag(remote.show("staging", API), "2.0.0")
    assert remote.count("staging") == before + 1  # the competitor's commit only
    assert len(counter.read_text().splitlines()) == 2  # our push, the competitor's push; no retry


def test_race_with_another_image_keeps_both(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    before = remote.count("staging")
    counter = competitor(remote, tmp_path / "home", *bump_args(remote, "kai-coordinator=c0ffee1"))
    proc = run_bot("--output", "json", *bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["commit"] == remote.head("staging")
    assert remote.count("staging") == before + 2
    assert has_tag(remote.show("staging", COORDINATOR), "c0ffee1")
    assert has_tag(remote.show("staging", API), "5d6e7f8")
    assert remote.message("staging").startswith("deploy(staging): kai-api-server 5d6e7f8")
    assert remote.message("staging~1").startswith("deploy(staging): kai-coordinator c0ffee1")
    assert len(counter.read_text().splitlines()) == 3  # ours (lost), the competitor's, ours again


def test_a_replan_fetches_the_new_head_and_the_changed_files_in_one_request(
        remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    competitor(remote, tmp_path / "home", *bump_args(remote, "kai-coordinator=c0ffee1"))
    trace = tmp_path / "trace2.json"
    proc = run_bot(*bump_args(remote, "kai-api-server=5d6e7f8"), env={"GIT_TRACE2_EVENT": str(trace)})
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    ours = [e["argv"] for e in events if e["event"] == "start" and "/" not in e["sid"]]  # not the server's
    names = [next(a for a in argv[1:] if not a.startswith("-") and "=" not in a) for argv in ours]
    lost = names.index("push")
    assert names[lost + 1:].count("fetch") == 1, " ".join(names)  # no second request for the competitor's file
    assert names.count("push") == 2
    assert has_tag(remote.show("staging", COORDINATOR), "c0ffee1")
    assert has_tag(remote.show("staging", API), "5d6e7f8")


def test_race_to_the_same_state_commits_nothing(remote: Remote, run_bot: RunBot, tmp_path: Path) -> None:
    before = remote.count("staging")
    counter = competitor(remote, tmp_path / "home", *bump_args(remote, "kai-api-server=5d6e7f8"))
    proc = run_bot("--output", "json", *bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert (result["changed"], result["commit"]) == (False, None)
    assert remote.count("staging") == before + 1
    assert len(counter.read_text().splitlines()) == 2


def test_retries_are_bounded(remote: Remote, run_bot: RunBot) -> None:
    """A remote that moves under every push: 1 attempt + --retries re-plans, then exit 1."""
    before = remote.head("staging")
    counter = hook(remote, """\
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
export GIT_AUTHOR_NAME=other GIT_AUTHOR_EMAIL=o@example.com
export GIT_COMMITTER_NAME=other GIT_COMMITTER_EMAIL=o@example.com
head=$(git rev-parse refs/heads/staging)
git update-ref refs/heads/staging "$(git commit-tree -p "$head" -m other "$head^{tree}")" "$head"
exit 0""")
    proc = run_bot("--retries", "2", *bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[-1] == (
        "gitops-bot: error: push to 'staging' kept losing races with other pushers after 3 attempt(s); "
        "nothing was written (raise --retries)")
    assert [re.sub(r"in [0-9.]+s", "in Ns", line) for line in lines[:-1]] == [  # one progress line per retry
        "gitops-bot: someone pushed to staging first; re-planning in Ns (attempt 2 of 3)",
        "gitops-bot: someone pushed to staging first; re-planning in Ns (attempt 3 of 3)"]
    assert len(counter.read_text().splitlines()) == 3
    assert remote.count("staging") == int(git("rev-list", "--count", before, cwd=remote.bare)) + 3
    assert has_tag(remote.show("staging", API), "1a2b3c4")


def test_hook_refusal_is_not_retried(remote: Remote, run_bot: RunBot) -> None:
    before = remote.refs()
    counter = hook(remote, "echo 'staging is frozen until the release is out' >&2\nexit 1")
    proc = run_bot(*bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "gitops-bot: error: push to 'staging' was refused: staging is frozen until the release is out; "
        "[remote rejected] (pre-receive hook declined)"]
    assert counter.read_text().splitlines() == ["called"]  # exactly once
    assert remote.refs() == before


# -- failures -----------------------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", ["missing path", "closed port"])
def test_unreachable_remote(kind: str, run_bot: RunBot) -> None:
    url = "file:///nonexistent/kai-gitops.git" if kind == "missing path" else \
        f"http://127.0.0.1:{closed_port()}/kai-gitops.git"
    proc = run_bot("--repo", url, "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8",
                   env={"GITOPS_BOT_TOKEN": "ghs_unreachableTestToken"})
    assert proc.returncode == 1
    [line] = proc.stderr.splitlines()
    assert line.startswith(f"gitops-bot: error: git fetch from {url} failed: remote unreachable: ")
    assert "Traceback" not in proc.stderr
    assert "ghs_" not in proc.stderr
    assert proc.stdout == ""


def test_missing_branch(tmp_path: Path, run_bot: RunBot) -> None:
    remote = make_remote(tmp_path / "main-only", branches=("main",))
    proc = run_bot(*bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"gitops-bot: error: branch 'staging' does not exist in {remote.url}"]


# -- progress and output ------------------------------------------------------------------------------

def test_quiet_when_stderr_is_not_a_terminal(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot(*bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 0, proc.stderr
    assert not [word for word in (*PROGRESS, "remote:") if word in proc.stderr]
    assert proc.stdout == ("flux/clusters/staging/releases/api-server.yaml:37: kai-api-server 1a2b3c4 -> 5d6e7f8\n"
                           f"staging: pushed {remote.head('staging')} to staging\n")  # the result, on stdout


def test_verbose_shows_progress_and_json_stays_one_document(remote: Remote, run_bot: RunBot) -> None:
    proc = run_bot("-v", "--output", "json", *bump_args(remote, "kai-api-server=5d6e7f8"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["commit"] == remote.head("staging")
    assert "Receiving objects" in proc.stderr
    assert "Writing objects" in proc.stderr
    assert "gitops-bot: $ git fetch --progress" in proc.stderr


def test_progress_on_a_terminal(remote: Remote, tmp_path: Path) -> None:
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([BOT, "--output", "json", *bump_args(remote, "kai-api-server=5d6e7f8")],
                            env=bot_env(tmp_path), stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    seen = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:  # EIO: the terminal's last writer is gone
                return
            if not chunk:
                return
            seen.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    stdout, _ = proc.communicate(timeout=60)
    reader.join(timeout=10)
    os.close(primary)
    assert proc.returncode == 0, seen.decode(errors="replace")
    assert json.loads(stdout)["changed"] is True
    assert b"Receiving objects" in seen
    assert b"Writing objects" in seen
    assert b"\r" in seen  # progress redraws its line, as git's own does
