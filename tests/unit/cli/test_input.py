"""Bad input on the command line and in the files the bot reads: exit 2, one line, nothing written.

The CLI runs in-process (`gitops_bot.cli.app.main`, the installed command's entry point) so that a
property test can try hundreds of inputs; git still runs for real against a bare file:// remote.
"""

from __future__ import annotations

import contextlib
import io
import os
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitops_bot.cli import app as cli
from gitops_bot.model.slug import is_slug
from tests.support.env import clean_env
from tests.support.gitrepo import Remote, git, make_remote


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


@dataclass
class Bench:
    remote: Remote
    home: Path
    files: Path

    def run(self, *argv: str) -> Run:
        env = clean_env(self.home)
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.dict(os.environ, env, clear=True), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                cli.main(list(argv))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        return Run(code, out.getvalue(), err.getvalue())

    def refused(self, *argv: str) -> Run:
        """`gitops-bot --repo REMOTE ARGV` must be exit 2 with one line naming the problem, and the
        remote unchanged."""
        refs = self.remote.refs()
        result = self.run("--repo", self.remote.url, *argv)
        lines = result.stderr.splitlines()
        assert result.code == 2, (argv, result.stderr)
        assert len(lines) == 1, (argv, result.stderr)
        assert lines[0].startswith("gitops-bot: error: "), (argv, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        assert self.remote.refs() == refs
        return result


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    root = tmp_path_factory.mktemp("cli-input")
    home = root / "home"
    home.mkdir()
    files = root / "files"
    files.mkdir()
    cwd = os.getcwd()
    os.chdir(root)  # relative --repo/--config values are looked up here, never in the checkout
    try:
        yield Bench(make_remote(root / "remote"), home, files)
    finally:
        os.chdir(cwd)


# --- an empty value is refused for every option of every command -------------------------------


def _value_params() -> list[tuple[tuple[str, ...], str]]:
    cli._register()
    found: list[tuple[tuple[str, ...], str]] = []

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        for param in command.params:
            if isinstance(param, click.Option) and not (param.is_flag or param.count):
                found.append((path, param.opts[0]))
            elif isinstance(param, click.Argument):
                found.append((path, param.human_readable_name))
        if isinstance(command, click.Group):
            for name, sub in sorted(command.commands.items()):
                walk(sub, (*path, name))

    walk(cli.cli, ())
    return found


VALUE_PARAMS = _value_params()


def test_the_walk_sees_every_command_and_the_options_that_matter() -> None:
    commands = {path for path, _ in VALUE_PARAMS}
    assert {("bump",), ("watch",), ("canary", "start"), ("revert",), ("hold",), ("unhold",)} <= commands
    assert ((), "--remote-url") in VALUE_PARAMS
    assert (("bump",), "--message") in VALUE_PARAMS
    assert (("watch",), "--check") in VALUE_PARAMS
    assert len(VALUE_PARAMS) > 60


@pytest.mark.parametrize(("path", "option"), VALUE_PARAMS, ids=lambda v: " ".join(v) if isinstance(v, tuple)
                         else v)
@pytest.mark.parametrize("empty", ["", "  "])
def test_every_option_given_an_empty_value_is_exit_2(bench: Bench, path: tuple[str, ...], option: str,
                                                     empty: str) -> None:
    argv = [*path, empty] if not option.startswith("-") else [*path, option, empty]
    result = bench.refused(*argv)
    assert "must not be empty" in result.stderr
    assert (option if option.startswith("-") else "SHA") in result.stderr


def test_an_empty_remote_url_never_falls_back_to_the_default_repository(bench: Bench) -> None:
    for argv in (["--remote-url", "", "status"], ["status", "--remote-url="],
                 ["bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8", "--remote-url", ""]):
        result = bench.refused(*argv)
        assert "github.com" not in result.stderr


def test_help_and_flags_still_work(bench: Bench) -> None:
    assert bench.run("--help").code == 0
    assert bench.run("bump", "--help").code == 0
    assert bench.run("--version").code == 0


# --- a property test over the CLI: bad values for every option ----------------------------------

_TAG_OK = set(string.ascii_letters + string.digits + "._-")
bad_tags = st.text(min_size=1, max_size=20).filter(
    lambda t: t.strip() and "\0" not in t and (t[0] in ".-" or any(c not in _TAG_OK for c in t)))  # `_` may lead
bad_ints = st.one_of(st.integers(max_value=0).map(str), st.sampled_from(["x", "1.5", "1e3", "--", "0x10"]))
bad_urls = st.one_of(
    st.sampled_from(["http://[::1", "http://", "http://127.0.0.1:99999/", "https://:80/", "ftp://127.0.0.1/",
                     "127.0.0.1/health", "http://127.0.0.1:0/", "file:///etc/passwd", "http://a b/",
                     "javascript:alert(1)", "http://[zz]/"]),
    st.integers(min_value=65536, max_value=10**12).map(lambda p: f"http://127.0.0.1:{p}/"),
)
bad_intervals = st.one_of(st.sampled_from(["inf", "-inf", "nan", "NaN", "-1", "1e400", "x", "1e9"]),
                          st.floats(max_value=-0.001, allow_nan=False).map(repr))
bad_templates = st.builds(lambda a, field, b: f"{a}{{{field}}}{b}",
                          st.text(alphabet="abc ", max_size=5),
                          st.sampled_from(["env.__class__", "subject!r", "env:>9", "0", "", "environment",
                                           "subject.__init__", "env[0]", "ENV", " env"]),
                          st.text(alphabet="abc ", max_size=5))
hex_free = st.text(min_size=1, max_size=12).filter(
    lambda t: t.strip() and "\0" not in t and not t.startswith("-")
    and not all(c in string.hexdigits for c in t.strip()))
names = st.text(alphabet=string.ascii_lowercase + "-_", min_size=1, max_size=12).filter(
    lambda n: n not in ("staging", "production"))
bad_repos = st.text(min_size=1, max_size=20).filter(
    lambda r: r.strip() and "\0" not in r and "://" not in r and not r.startswith(("git@", "-"))
    and not is_slug(r) and not Path(r).expanduser().exists())

BUMP = ("bump", "--env", "staging")
CASES = st.one_of(
    bad_ints.filter(lambda v: v != "0").map(lambda v: ("--retries", v, "status")),
    st.integers(min_value=101).map(lambda v: ("--retries", str(v), "status")),
    st.text(min_size=1, max_size=8).filter(lambda v: v.strip() and "\0" not in v and v not in ("text", "json"))
    .map(lambda v: ("--output", v, "status")),
    bad_repos.map(lambda v: ("--repo", v, "status")),
    bad_tags.map(lambda t: (*BUMP, "--image", f"kai-api-server={t}")),
    bad_tags.map(lambda t: (*BUMP, "--tag", t, "--image", "kai-api-server")),
    st.text(alphabet="0123456789abcdefgz", min_size=1, max_size=70).filter(
        lambda d: len(d) != 64 or "g" in d or "z" in d).map(lambda d: (*BUMP, "--image", f"kai-api-server@sha256:{d}")),
    bad_templates.map(lambda m: (*BUMP, "--image", "kai-api-server=5d6e7f8", "--message", m)),
    names.map(lambda n: ("bump", "--env", n, "--image", "kai-api-server=5d6e7f8")),
    names.map(lambda n: ("status", "--env", n)),
    names.map(lambda n: ("validate", "--env", n)),
    names.map(lambda n: ("history", "--env", n)),
    names.map(lambda n: ("promote", "--from", "staging", "--to", n)),
    names.map(lambda n: ("environment", "--ref", f"refs/heads/{n}")),
    bad_ints.map(lambda v: ("history", "--env", "staging", "--limit", v)),
    bad_ints.map(lambda v: ("rollback", "--env", "staging", "--steps", v)),
    hex_free.map(lambda v: ("rollback", "--env", "staging", "--to", v)),
    hex_free.map(lambda v: ("revert", v, "--env", "staging")),
    st.one_of(st.integers(max_value=0), st.integers(min_value=101)).map(
        lambda w: ("canary", "start", "--env", "staging", "--image", "kai-api-server=c4", "--weight", str(w))),
    bad_urls.map(lambda u: ("watch", "--env", "staging", "--check", u, "--checks", "1", "--threshold", "1")),
    bad_intervals.map(lambda i: ("watch", "--env", "staging", "--check", "http://127.0.0.1:9/", "--interval", i,
                                 "--checks", "1", "--threshold", "1")),
    bad_ints.map(lambda v: ("watch", "--env", "staging", "--check", "http://127.0.0.1:9/", "--checks", v)),
    st.integers(min_value=3, max_value=10**6).map(
        lambda t: ("watch", "--env", "staging", "--check", "http://127.0.0.1:9/", "--checks", "2",
                   "--threshold", str(t))),
    st.sampled_from(["--nope", "--image"]).map(lambda o: ("hold", "--env", "staging", o)),
)


@settings(max_examples=100)
@given(argv=CASES)
def test_bad_option_values_are_exit_2_on_one_line(bench: Bench, argv: tuple[str, ...]) -> None:
    bench.refused(*argv)


# --- ... and bad contents of every file the bot reads --------------------------------------------

malformed_yaml = st.one_of(
    st.binary(min_size=1, max_size=40).filter(lambda b: _not_utf8(b)),
    st.integers(min_value=3000, max_value=6000).map(lambda n: ("a: " + "[" * n + "]" * n + "\n").encode()),
    st.just("".join(" " * i + f"k{i}:\n" for i in range(1200)).encode()),
    st.sampled_from([b"[1, 2\n", b"a: b: c\n", b"\x00\n", b"a: &x 1\nb: *y\n",
                     b"\"unterminated\n", b"\tkey: tab\n", b"a:\n  - b\n c: d\n"]),
)
# valid YAML that no configuration can be
wrong_config = st.sampled_from([b"a: 2001-13-45\n", b"a: !!binary zz\n", b"- just\n- a list\n", b"? [a]\n: 1\n",
                                b"a: 1\na: 2\n",
                                b"environments: [staging]\n", b"environments: {staging: {branch: 1}}\n",
                                b"gitops: {repository: 7}\n", b"policy: sometimes\n"])


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


FILE_CASES = st.one_of(
    st.tuples(st.sampled_from(["config", "repo-config", "holds", "manifest"]), malformed_yaml),
    st.tuples(st.sampled_from(["config", "repo-config"]), wrong_config),
)


def put(remote: Remote, branch: str, path: str, data: bytes) -> None:
    """Push `data` as `path` on `branch` (a commit even when an earlier example left the same bytes)."""
    git("fetch", "-q", "origin", branch, cwd=remote.scratch)
    git("checkout", "-q", "-B", branch, "FETCH_HEAD", cwd=remote.scratch)
    (remote.scratch / path).parent.mkdir(parents=True, exist_ok=True)
    (remote.scratch / path).write_bytes(data)
    git("add", path, cwd=remote.scratch)
    git("commit", "-q", "--allow-empty", "-m", "bad file", cwd=remote.scratch)
    git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=remote.scratch)


@pytest.fixture(scope="module")
def file_remotes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Remote]:
    """One remote per kind of file: each example overwrites that file, the others stay good."""
    return {kind: make_remote(tmp_path_factory.mktemp(kind)) for kind in ("repo-config", "holds", "manifest")}


@settings(max_examples=25)
@given(case=FILE_CASES)
def test_bad_files_are_exit_2_on_one_line(file_remotes: dict[str, Remote], bench: Bench,
                                          case: tuple[str, bytes]) -> None:
    where, data = case
    bump = ("bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8")
    if where == "config":
        path = bench.files / "config.yaml"
        path.write_bytes(data)
        bench.refused("--config", str(path), *bump)
        return
    remote = file_remotes[where]
    target = {"repo-config": ".gitops-bot.yaml", "holds": ".gitops-bot/holds.yaml",
              "manifest": "flux/clusters/staging/releases/zz-kai-api-server.yaml"}[where]
    for branch in ("main", "staging"):  # the repository's config is read from one of them
        put(remote, branch, target, data)
    saved, bench.remote = bench.remote, remote
    try:
        result = bench.refused(*bump)
    finally:
        bench.remote = saved
    assert target in result.stderr  # the message names the file
