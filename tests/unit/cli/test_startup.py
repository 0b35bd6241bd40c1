"""Start-up cost: commands import only what they use, and a fresh clone is set up by one git process.

Speed itself is measured in bench/startup_bench.py and bench/issue13.py (docs/startup.md); these
tests check the causes: which modules a command imports and which git processes a bump starts.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import click
import pytest

from gitops_bot.cli import app as cli
from gitops_bot.cli.commands import COMMANDS
from gitops_bot.cli.lazygroup import LazyGroup
from gitops_bot.git.config import config_text
from tests.conftest import bot_env
from tests.support.gitrepo import ROOT, Remote

# Run main() in a fresh interpreter and report the exit code and the modules it imported.
# (The probe imports nothing itself: `json`, for one, is a module the light commands must not load.)
_PROBE = """
import sys
from gitops_bot.cli.app import main
code = 0
try:
    main(sys.argv[2:])
except SystemExit as exit:
    code = exit.code
with open(sys.argv[1], "w") as out:
    out.write("\\n".join([str(code), *sorted(sys.modules)]))
"""
# Modules only writing commands need: YAML editing, git, GitHub, registries.
_HEAVY = ("github", "requests", "ruamel.yaml", "yaml", "semver", "gitops_bot.git.workspace",
          "gitops_bot.git.runner", "gitops_bot.planning.plan", "gitops_bot.manifests.edit",
          "gitops_bot.delivery.push", "gitops_bot.registry.client",
          "gitops_bot.cli.commands.bump", "gitops_bot.delivery.session", "gitops_bot.delivery.api_commit",
          "gitops_bot.delivery.dispatch", "gitops_bot.registry", "gitops_bot.ops", "gitops_bot.github.wait",
          "gitops_bot.github.statuses", "gitops_bot.github.client", "gitops_bot.git.plumbing", "gitops_bot.manifests")
# Modules a plain bump (no --verify-image, --pin-digest, commit.sign: github, --wait) never uses.
_NOT_FOR_BUMP = ("github", "requests", "semver", "gitops_bot.delivery.api_commit", "gitops_bot.github.client",
                 "gitops_bot.registry.client", "gitops_bot.registry.auth", "gitops_bot.registry.endpoint",
                 "ruamel.yaml")  # the fixture repository has no .gitops-bot.yaml nor holds file, no semver policy


def imported(tmp_path: Path, *argv: str, cwd: Path | None = None) -> tuple[int, set[str]]:
    """main(argv) in a fresh interpreter that imports the package as an installed one is imported:
    `-S` skips the site .pth files, and with them the editable install's import hook (which loads
    pathlib and more itself); the package and its dependencies come from PYTHONPATH."""
    report = tmp_path / "probe.json"
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    path = os.pathsep.join([str(ROOT), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    proc = subprocess.run([sys.executable, "-S", "-c", _PROBE, str(report), *argv], cwd=cwd or tmp_path,
                          env=bot_env(home, {"PYTHONPATH": path}), capture_output=True, text=True, timeout=120,
                          check=False)
    assert report.exists(), proc.stderr
    code, *modules = report.read_text().split("\n")
    return int(code), set(modules)


def loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(f"{name}.") for m in modules)


def test_every_command_in_the_table_loads_under_its_name_with_the_summary_help_shows() -> None:
    cli._register()
    assert isinstance(cli.cli, LazyGroup)
    assert sorted(cli.cli.commands) == sorted(COMMANDS)
    for name, (_target, summary) in COMMANDS.items():
        command = cli.cli.commands[name]
        assert command.name == name
        assert summary == inspect.cleandoc(command.help or "").split("\n\n")[0], name
        for limit in (30, 45, 80, 200):  # what --help shows at any terminal width
            assert click.Command(name, help=summary).get_short_help_str(limit) == command.get_short_help_str(limit)


def test_help_lists_every_command_without_importing_any(tmp_path: Path) -> None:
    code, modules = imported(tmp_path, "--help")
    assert code == 0
    assert not [m for m in modules if m.startswith("gitops_bot.cli.commands.")]
    assert [name for name in _HEAVY if loaded(modules, name)] == []
    assert "json" not in modules  # only an error under --output json needs it before a command runs
    # configured when a command that logs is loaded; urllib.parse (with ipaddress) when a URL is parsed
    assert [m for m in ("logging", "pathlib", "urllib.parse", "dataclasses") if m in modules] == []


def test_help_shows_the_same_list_as_the_loaded_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    lazy = subprocess.run([sys.executable, "-m", "gitops_bot", "--help"], env={**bot_env(home), "COLUMNS": "100"},
                          capture_output=True, text=True, check=True).stdout
    cli._register()
    ctx = click.Context(cli.cli, info_name="gitops-bot", terminal_width=100, max_content_width=100)
    formatter = ctx.make_formatter()
    click.Group.format_commands(cli.cli, ctx, formatter)  # click's own listing, from the real commands
    assert formatter.getvalue().strip() in lazy
    for name in COMMANDS:
        assert f"\n  {name} " in lazy


def test_environment_imports_no_git_yaml_editor_github_or_registry(tmp_path: Path) -> None:
    code, modules = imported(tmp_path, "environment", "--ref", "refs/heads/main")
    assert code == 0
    assert "gitops_bot.cli.commands.environment" in modules
    commands = [m for m in modules if m.startswith("gitops_bot.cli.commands.")]
    assert commands in ([], ["gitops_bot.cli.commands.environment"]), commands
    # reading the configuration takes its YAML parser; nothing else heavy (no semver without policies)
    config_reading = ("ruamel.yaml", "gitops_bot.delivery.session")
    assert [name for name in _HEAVY if loaded(modules, name) and name not in config_reading] == []
    assert "json" not in modules  # text output: the JSON renderer is not loaded
    assert "logging" not in modules  # environment logs nothing: app._SILENT
    assert [m for m in ("pathlib", "urllib.parse") if m in modules] == []  # the config is read with open()


def test_an_unknown_command_is_refused_with_exit_2(tmp_path: Path) -> None:
    code, _modules = imported(tmp_path, "bmup")
    assert code == 2


def test_a_push_bump_imports_neither_pygithub_nor_requests(tmp_path: Path, remote: Remote) -> None:
    code, modules = imported(tmp_path, "--repo", remote.url, "bump", "--env", "staging",
                             "--image", "kai-api-server=5d6e7f8")
    assert code == 0
    assert "gitops_bot.cli.commands.bump" in modules
    assert not loaded(modules, "github") and not loaded(modules, "requests")
    assert b"tag: 5d6e7f8" in remote.show("staging", "flux/clusters/staging/releases/api-server.yaml")


def test_bumps_command_loads_without_its_use_case_so_that_the_fetch_starts_first() -> None:
    # ops.bump and what it reads YAML with load in run_write, after Session.prefetch (docs/startup.md)
    probe = "import sys, gitops_bot.cli.commands.bump; print(' '.join(sorted(sys.modules)))"
    modules = set(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                                 timeout=60).stdout.split())
    heavy = ("gitops_bot.ops", "gitops_bot.planning", "gitops_bot.manifests", "gitops_bot.cli.render",
             "gitops_bot.github.wait", "yaml", "semver")
    assert [name for name in heavy if loaded(modules, name)] == []


def test_a_dry_run_bump_imports_no_api_commit_registry_client_pygithub_or_requests(
        tmp_path: Path, remote: Remote) -> None:
    before = remote.head("staging")
    code, modules = imported(tmp_path, "--repo", remote.url, "--dry-run", "bump", "--env", "staging",
                             "--image", "kai-api-server=5d6e7f8")
    assert code == 0
    assert "gitops_bot.ops.bump" in modules and "gitops_bot.git.plumbing" in modules  # it did plan and commit
    assert [name for name in _NOT_FOR_BUMP if loaded(modules, name)] == []
    assert remote.head("staging") == before


def test_a_bump_sets_up_its_clone_with_one_git_init_and_no_git_config(tmp_path: Path, remote: Remote) -> None:
    trace = tmp_path / "trace2.json"
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "clone"
    proc = subprocess.run([sys.executable, "-m", "gitops_bot", "--repo", remote.url, "--workdir", str(workdir),
                           "bump", "--env", "staging", "--image", "kai-api-server=5d6e7f8"],
                          env={**bot_env(home), "GIT_TRACE2_EVENT": str(trace)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(ln) for ln in trace.read_text().splitlines()]
    names = [subcommand(e["argv"]) for e in events if e["event"] == "start"]
    assert "fetch" in names and "push" in names  # the trace saw the whole run
    assert names.count("init") == 1
    # the write path: the edit's blobs and trees are written from memory, then one commit-tree
    top = [subcommand(e["argv"]) for e in events if e["event"] == "start" and "/" not in e["sid"]]
    assert [n for n in top if n in ("hash-object", "read-tree", "update-index", "write-tree", "mktree")] == []
    assert top.count("commit-tree") == 1, top
    # init, fetch, config and holds lookups, the environment's listing, blob fetch + read, the whole
    # tree's listing (its HelmReleases name values files), their blob fetch + read, commit-tree, push
    # (the index way alone was four more)
    assert len(top) <= 12, " ".join(top)
    assert [n for n in names if n in ("config", "remote")] == []
    # ... and the settings are the ones `git config` would have written
    def get(key: str) -> str:
        return subprocess.run(["git", "config", "--get", key], cwd=workdir, env=bot_env(home),
                              capture_output=True, text=True, check=True).stdout.strip()
    assert get("remote.origin.url") == remote.url
    assert get("remote.origin.promisor") == "true"
    assert get("remote.origin.partialclonefilter") == "blob:none"
    assert get("core.bare") == "true"  # an object store: no work tree to check out
    assert get("gitops-bot.workdir") == "true"


def fsyncs(tmp_path: Path, remote: Remote, *options: str) -> int:
    """How many flushes to disk git reported (trace2 `fsync` counters) during one bump. The trace
    also holds the file:// remote's side of the push, which flushes nothing: a push this small is
    unpacked there as loose objects, and git does not flush loose objects by default."""
    trace = tmp_path / "fsync-trace.json"
    trace.unlink(missing_ok=True)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "gitops_bot", "--repo", remote.url, *options,
                           "bump", "--env", "staging", "--image", f"kai-api-server={len(options)}abc123"],
                          env={**bot_env(home), "GIT_TRACE2_EVENT": str(trace)}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(ln) for ln in trace.read_text().splitlines()]
    assert any(e["event"] == "start" and "fetch" in e["argv"] for e in events)
    return sum(int(e["value"]) for e in events if e.get("category") == "fsync")


def test_a_temporary_store_is_never_flushed_to_disk_a_reused_workdir_is(tmp_path: Path, remote: Remote) -> None:
    # the temporary store is removed when the run ends: its fetched packs need no fsync (docs/startup.md)
    assert fsyncs(tmp_path, remote) == 0
    # a --workdir outlives the run, so git's own durability is kept there
    assert fsyncs(tmp_path, remote, "--workdir", str(tmp_path / "work")) > 0


def subcommand(argv: list[str]) -> str:
    """`git -c k=v -C dir fetch ...` -> fetch"""
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-c", "-C", "--git-dir", "--work-tree"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return ""


def test_the_built_in_defaults_are_what_their_yaml_says() -> None:
    from ruamel.yaml import YAML

    from gitops_bot.config.settings import DEFAULTS_YAML, Config, _defaults_data

    assert _defaults_data() == YAML(typ="safe", pure=True).load(DEFAULTS_YAML)
    assert Config.defaults() == Config.from_text(DEFAULTS_YAML, "built-in defaults")


@pytest.mark.parametrize("value", ['file:///tmp/a b"c\\d', "tab\there", "new\nline", "[x] ; #y", ""])
def test_config_text_round_trips_any_value_through_git(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config"
    path.write_text(config_text([("remote.origin.url", value), ("core.sparseCheckout", "true"),
                                 ("remote.origin.promisor", "true")]))
    out = subprocess.run(["git", "config", "--file", str(path), "--null", "--list"],
                         capture_output=True, text=True, check=True).stdout
    assert out.split("\0")[:-1] == [f"remote.origin.url\n{value}", "core.sparsecheckout\ntrue",
                                    "remote.origin.promisor\ntrue"]


def test_the_entry_points_tune_the_collector_before_the_cli_loads_and_the_library_does_not() -> None:
    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"gitops-bot": "gitops_bot.cli.start:cli", "gitops-bot-action": "gitops_bot.cli.start:action"}
    action = (ROOT / "action.yml").read_text()
    assert 'from gitops_bot.cli.start import cli; cli()' in action  # the wrappers action.yml writes
    assert 'from gitops_bot.cli.start import action; action()' in action
    probe = ("import gc, sys; import {}; "
             "print(gc.get_threshold(), 'click' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = subprocess.run([sys.executable, "-c", probe.format("gitops_bot.cli.start")], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert started.strip() == "(100000, 20, 100) False"  # tuned first: click and the CLI load after it
    library = subprocess.run([sys.executable, "-c", probe.format("gitops_bot.cli.app")], env=env,
                             capture_output=True, text=True, check=True).stdout
    assert library.strip() == f"{gc_default()} True"  # importing the package changes nothing


def gc_default() -> tuple[int, int, int]:
    return tuple(int(n) for n in subprocess.run([sys.executable, "-c", "import gc; print(*gc.get_threshold())"],
                                                capture_output=True, text=True, check=True).stdout.split())  # type: ignore[return-value]
