"""The git workspace against real repositories: minimal clone, reuse, credentials, push outcomes."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_bot.git.runner import Timeouts
from gitops_bot.git.workspace import PushOutcome, Workspace
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.errors import GitError, PushRejected, UsageError
from tests.support.gitrepo import Remote, git, isolate_git, make_remote
from tests.support.hung import hung_server

STAGING = "flux/clusters/staging"
API = f"{STAGING}/releases/api-server.yaml"


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path / "home", monkeypatch)


def open_ws(remote: Remote, workdir: Path | None = None) -> Workspace:
    return Workspace.open(remote.url, Credentials(), workdir=workdir, progress=False)


def missing_objects(root: Path) -> list[str]:
    out = git("rev-list", "--objects", "--missing=print", "--all", cwd=root,
              env={"GIT_NO_LAZY_FETCH": "1"})
    return [line[1:] for line in out.splitlines() if line.startswith("?")]


# -- minimal clone ------------------------------------------------------------------------------------

def test_clone_is_one_branch_shallow_blobless_and_has_no_work_tree(remote: Remote) -> None:
    remote.commit_file("staging", "README.md", b"second commit\n")  # history deeper than one commit
    with open_ws(remote) as ws:
        head = ws.fetch("staging")
        files = ws.read_files(head, STAGING)
        assert head == remote.head("staging")
        assert ws.is_shallow()
        assert git("rev-list", "--count", head, cwd=ws.root / ".git") == "1"
        assert git("for-each-ref", "--format=%(refname)", cwd=ws.root / ".git").split() == [
            "refs/remotes/origin/staging"]
        # No work tree: a bare store, and no file of the repository on disk.
        assert git("rev-parse", "--is-bare-repository", cwd=ws.root / ".git") == "true"
        assert [p.name for p in ws.root.iterdir()] == [".git"]
        assert next(f.data for f in files if f.path == API) == remote.show("staging", API)
        # Blob-less: the blobs only production uses were never transferred.
        def blobs(path: str) -> set[str]:
            return set(git("ls-tree", "-r", "--object-only", head, path, cwd=ws.root / ".git").split())

        only_prod = blobs("flux/clusters/production") - blobs(STAGING)
        assert only_prod
        assert only_prod <= set(missing_objects(ws.root / ".git"))
        # Reading the environment fetches exactly its blobs, in one go.
        files = ws.read_files(head, STAGING)
        assert {f.path for f in files} >= {API}
        assert next(f.data for f in files if f.path == API) == remote.show("staging", API)


def test_temporary_clone_is_removed_on_close(remote: Remote) -> None:
    ws = open_ws(remote)
    ws.fetch("staging")
    ws.close()
    assert not ws.root.exists()


def test_server_without_filter_support_still_works(tmp_path: Path) -> None:
    remote = make_remote(tmp_path / "nofilter")
    git("config", "uploadpack.allowFilter", "false", cwd=remote.bare)
    with open_ws(remote) as ws:
        head = ws.fetch("staging")
        assert missing_objects(ws.root) == []  # the server sent every blob, git went on
        files = ws.read_files(head, STAGING)
        assert next(f.data for f in files if f.path == API) == remote.show("staging", API)


def test_a_server_that_sends_every_blob_and_refuses_wants_by_id_still_works(tmp_path: Path) -> None:
    """A store of this run fetches the blobs it has not fetched without asking git which are missing:
    when the server refuses that fetch, git is asked, and the blobs it sent already are read."""
    remote = make_remote(tmp_path / "nofilter")
    git("config", "uploadpack.allowFilter", "false", cwd=remote.bare)
    git("config", "uploadpack.allowAnySHA1InWant", "false", cwd=remote.bare)
    with open_ws(remote) as ws:
        head = ws.fetch("staging")
        assert missing_objects(ws.root) == []
        files = ws.read_files(head, STAGING)
        assert next(f.data for f in files if f.path == API) == remote.show("staging", API)


def test_read_file_looks_up_and_reads_through_the_stores_one_process(remote: Remote, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with open_ws(remote) as ws:
        head = ws.fetch("staging")
        expected = remote.show("staging", API)
        trace = tmp_path / "trace.json"
        monkeypatch.setenv("GIT_TRACE2_EVENT", str(trace))
        assert ws.read_file(head, API) == expected  # its blob fetched on demand
        assert ws.read_file(head, "no/such.yaml") is None
        assert ws.read_file(head, STAGING) is not None  # a folder reads as git reads it: its tree
        monkeypatch.delenv("GIT_TRACE2_EVENT")
        top = [e for e in map(json.loads, trace.read_text().splitlines())
               if e["event"] == "start" and "/" not in e["sid"]]
        assert [e["argv"][1:] for e in top] == [["cat-file", "--batch"]]  # one process, all three reads


def test_read_file_of_a_name_with_a_carriage_return_is_looked_up_by_git(remote: Remote) -> None:
    """A cat-file line would lose its CR: such a name is resolved by rev-parse instead, never refused."""
    with open_ws(remote) as ws:
        head = ws.fetch("staging")
        assert ws.read_file(head, "flux/clusters/staging/no\rsuch.yaml") is None


def test_missing_branch_is_named(remote: Remote) -> None:
    with open_ws(remote) as ws, pytest.raises(GitError, match=r"branch 'nope' does not exist in file://"):
        ws.fetch("nope")


# -- --workdir ----------------------------------------------------------------------------------------

def test_workdir_is_reused_not_recloned(remote: Remote, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    ws = open_ws(remote, workdir)
    first = ws.fetch("staging")
    assert ws.read_file(first, API) == remote.show("staging", API)
    ws.close()
    assert (workdir / ".git").is_dir()  # not owned: kept
    marker = workdir / ".git" / "kept-by-test"
    marker.write_text("the same .git\n")
    second_commit = remote.commit_file("staging", API, b"# a colleague's edit\n")

    ws = open_ws(remote, workdir)
    head = ws.fetch("staging")
    assert marker.exists()
    assert head == second_commit
    assert ws.read_file(head, API) == b"# a colleague's edit\n"
    assert git("cat-file", "-e", f"{first}^{{tree}}", cwd=workdir / ".git") == ""  # still in the cache
    assert [p.name for p in workdir.iterdir()] == [".git"]  # an object cache: no files of the repository


def test_workdir_that_holds_other_files_is_refused(remote: Remote, tmp_path: Path) -> None:
    workdir = tmp_path / "precious"
    workdir.mkdir()
    (workdir / "notes.txt").write_text("do not clean me\n")
    with pytest.raises(UsageError, match="not empty"):
        open_ws(remote, workdir)
    assert (workdir / "notes.txt").read_text() == "do not clean me\n"
    assert not (workdir / ".git").exists()


# -- failures -----------------------------------------------------------------------------------------

@pytest.fixture
def silent_server() -> Iterator[str]:
    """An HTTP 'server' on 127.0.0.1 that accepts connections and never answers."""
    with hung_server() as url:
        yield url


def test_network_timeout_stops_git_and_its_helpers(silent_server: str, tmp_path: Path) -> None:
    with Workspace.open(silent_server, Credentials("t0ken-long-enough-to-be-one"), workdir=None, progress=False,
                        timeouts=Timeouts(network=1.0)) as ws:
        started = time.monotonic()
        with pytest.raises(GitError, match=r"^git fetch from http://127\.0\.0\.1:\d+/kai-gitops\.git "
                                           r"timed out after 1 s$"):
            ws.fetch("staging")
        # git-remote-http holds our pipes too: only killing the whole group returns this fast.
        assert time.monotonic() - started < 10


def test_unreachable_remote_is_one_line_naming_the_cause(tmp_path: Path) -> None:
    with Workspace.open((tmp_path / "nowhere.git").as_uri(), Credentials(), workdir=None,
                        progress=False) as ws, pytest.raises(GitError) as err:
        ws.fetch("staging")
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(f"git fetch from {(tmp_path / 'nowhere.git').as_uri()} failed: "
                                     f"remote unreachable: ")


# -- pushing ------------------------------------------------------------------------------------------

def _edit_and_commit(ws: Workspace, head: str, tag: bytes) -> str:
    old = ws.read_file(head, API)
    assert old is not None
    data = old.replace(b"tag: 1a2b3c4", b"tag: " + tag)
    return ws.commit_files(head, {API: data}, f"bump {tag.decode()}\n", "Test <test@example.com>")


def test_lost_race_is_reported_not_raised(remote: Remote, tmp_path: Path) -> None:
    with open_ws(remote) as first, open_ws(remote) as second:
        head = first.fetch("staging")
        assert second.fetch("staging") == head
        mine = _edit_and_commit(first, head, b"aaaaaaa")
        theirs = _edit_and_commit(second, head, b"bbbbbbb")
        assert first.push("staging", source=mine) is PushOutcome.PUSHED
        assert second.push("staging", source=theirs) is PushOutcome.RACE
    assert b"tag: aaaaaaa" in remote.show("staging", API)


def test_hook_refusal_raises_with_the_servers_message(remote: Remote) -> None:
    hook = remote.bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'staging is frozen for the release'\nexit 1\n")
    hook.chmod(0o755)
    with open_ws(remote) as ws:
        head = ws.fetch("staging")
        made = _edit_and_commit(ws, head, b"ccccccc")
        with pytest.raises(PushRejected, match=r"staging is frozen for the release; .*hook declined"):
            ws.push("staging", source=made)
    assert remote.head("staging") == head


# -- credentials reach git only through its environment -----------------------------------------------

TOKEN = "ghs_wOrkspaceTestToken0123456789"


def test_token_goes_into_config_variables_scoped_to_the_remote(tmp_path: Path) -> None:
    ws = Workspace.open("https://github.com/kai-platform/kai-gitops.git",
                        Credentials(TOKEN, "GITOPS_BOT_TOKEN"), workdir=tmp_path / "w", progress=False)
    env = ws.git.env()
    count = int(env["GIT_CONFIG_COUNT"])
    entries = [(env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"]) for i in range(count)]
    header = "Authorization: Basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    scope = "http.https://github.com/kai-platform/kai-gitops.git.extraheader"
    assert entries == [(scope, ""), (scope, header), ("credential.https://github.com/.helper", "")]
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert "GITOPS_BOT_TOKEN" not in env
    assert "GITHUB_TOKEN" not in env
    config = (tmp_path / "w" / ".git" / "config").read_text()
    assert TOKEN not in config
    assert "extraheader" not in config
    assert "url = https://github.com/kai-platform/kai-gitops.git" in config


def test_config_variables_of_the_user_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "http.proxy")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "http://proxy.internal:3128")
    env = Workspace.open("https://github.com/o/r.git", Credentials(TOKEN, "GITHUB_TOKEN"),
                         workdir=tmp_path / "w", progress=False).git.env()
    assert env["GIT_CONFIG_COUNT"] == "4"
    assert (env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) == ("http.proxy", "http://proxy.internal:3128")
    assert env["GIT_CONFIG_KEY_1"] == "http.https://github.com/o/r.git.extraheader"


@pytest.mark.parametrize("url", ["git@github.com:kai-platform/kai-gitops.git",
                                 "ssh://git@github.com/kai-platform/kai-gitops.git"])
def test_ssh_remotes_get_no_token(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITOPS_BOT_TOKEN", TOKEN)
    env = Workspace.open(url, Credentials.from_env(os.environ), workdir=tmp_path / "w", progress=False).git.env()
    assert TOKEN not in "".join(f"{k}={v}" for k, v in env.items())
    assert "GIT_CONFIG_COUNT" not in env
    assert "GIT_ASKPASS" not in env


def test_redaction_covers_token_header_and_url_passwords() -> None:
    creds = Credentials(TOKEN, "GITOPS_BOT_TOKEN")
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    text = f"token {TOKEN}, header Basic {basic}, url https://bot:hunter2@example.com/o/r.git"
    assert creds.redact(text) == "token ***, header Basic ***, url https://bot:***@example.com/o/r.git"
    assert Credentials().redact("nothing secret") == "nothing secret"


def test_token_comes_only_from_the_two_variables() -> None:
    both = {"GITOPS_BOT_TOKEN": "a", "GITHUB_TOKEN": "b"}
    assert Credentials.from_env(both) == Credentials("a", "GITOPS_BOT_TOKEN")
    assert Credentials.from_env({"GITHUB_TOKEN": "b"}) == Credentials("b", "GITHUB_TOKEN")
    assert Credentials.from_env({"GH_TOKEN": "c", "GITOPS_BOT_TOKEN": "  "}) == Credentials(None)


# -- symbolic links -----------------------------------------------------------------------------------

def test_symbolic_link_warnings_say_what_happened(remote: Remote, caplog: pytest.LogCaptureFixture) -> None:
    import os

    scratch = remote.scratch
    git("fetch", "-q", "origin", "staging", cwd=scratch)
    git("checkout", "-q", "-B", "staging", "FETCH_HEAD", cwd=scratch)
    releases = scratch / STAGING / "releases"
    links = {
        "copy.yaml": "api-server.yaml",  # a link to a file inside the path: read
        "folder.yaml": "../sources",
        "more": "../sources",
        "dangling.yaml": "nope.yaml",
        "outside.yaml": "../../production/releases/api-server.yaml",
        "escape.yaml": "../../../../../../etc/hostname",
        "settings": "api-server.yaml",  # not a manifest by its name: ignored quietly
    }
    for name, target in links.items():
        os.symlink(target, releases / name)
    git("add", "-A", cwd=scratch)
    git("commit", "-q", "-m", "links", cwd=scratch)
    git("push", "-q", "origin", "HEAD:refs/heads/staging", cwd=scratch)
    with open_ws(remote) as ws, caplog.at_level("WARNING", logger="gitops_bot.workspace"):
        head = ws.fetch("staging")
        files = ws.read_files(head, STAGING)
        assert ws.read_files(head, STAGING) == files  # read again (a prefetch, then the plan): warned once
    where = f"{STAGING}/releases"
    assert sorted(r.getMessage() for r in caplog.records) == sorted([
        f"skipping {where}/dangling.yaml: dangling symbolic link: nope.yaml does not exist",
        f"skipping {where}/escape.yaml: symbolic link to ../../../../../../etc/hostname leaves the repository",
        f"skipping {where}/folder.yaml: symbolic link to the folder ../sources: links to folders are not followed",
        f"skipping {where}/more: symbolic link to the folder ../sources: links to folders are not followed",
        f"skipping {where}/outside.yaml: symbolic link to ../../production/releases/api-server.yaml points "
        f"outside {STAGING}",
    ])
    assert [f.path for f in files].count(API) == 1  # the linked file is read once, as itself


def test_blob_ids_of_a_huge_environment_go_on_stdin_not_argv(tmp_path: Path) -> None:
    """60,000 files under the path: their ids alone (41 bytes each) are more than the kernel's
    2 MiB limit on a command line, so a fetch that named them in argv could not start."""
    bare = tmp_path / "huge.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    git("config", "uploadpack.allowFilter", "true", cwd=bare)
    git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=bare)
    count = 60_000
    stream = [b"commit refs/heads/staging\ncommitter t <t@example.com> 0 +0000\ndata 5\nhuge\n"]
    stream += [b"M 100644 inline env/f%05d.yaml\ndata %d\n%s\n" % (i, len(b"n: %d" % i), b"n: %d" % i)
               for i in range(count)]
    proc = subprocess.run(["git", "fast-import", "--quiet"], cwd=bare, input=b"".join(stream),
                          capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    with Workspace.open(bare.as_uri(), Credentials(), workdir=None, progress=False) as ws:
        head = ws.fetch("staging")
        files = ws.read_files(head, "env")
    assert len(files) == count
    assert files[0].path == "env/f00000.yaml" and files[0].data == b"n: 0"
    assert files[-1].data == b"n: %d" % (count - 1)
