"""The package's shape, enforced: layers import downwards only, no import cycle, click only in cli/,
PyGithub only in github/, subprocess only in git/, modules of at most 400 lines, and the
environment read only at the edge.

The checker is tests/support/structure.py (ast only: import-linter cannot say "subprocess only in
git/", count lines or find os.environ). The second half of this file shows that each rule fails
on a tiny package that breaks it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import gitops_bot
from tests.support.structure import Rules, cycles, problems, scan

ROOT = Path(gitops_bot.__file__).parent

# Lowest first (COMMON.md, docs): a module may import only from its own package or a lower one.
LAYERS = ("model", "config", "manifests", "planning", "github", "git", "registry", "delivery", "ops",
          "action", "cli")

# Modules that may read os.environ / os.getenv. Everything else gets what it needs passed down.
ENVIRON = {
    "gitops_bot.cli.app": "the edge: main() reads the credentials and the run context once (cli.options.Run)",
    "gitops_bot.cli.action_main": "the edge: the Action's INPUT_* values, and GITHUB_TOKEN dropped for an App",
    "gitops_bot.cli.options": "the edge: Run.from_env for a command run without main() (click's test runner)",
    "gitops_bot.git.runner": "the environment git's child process inherits (PATH, HOME), minus the secrets",
    "gitops_bot.git.signing": "the same for gpg/ssh-keygen while a key is imported, minus the secrets",
    "gitops_bot.github.credentials": "git_env: the environment git's child process inherits (GIT_CONFIG_COUNT)",
}

RULES = Rules(
    package="gitops_bot",
    layers=LAYERS,
    edges={"gitops_bot.__main__": "cli"},  # `python -m gitops_bot`: the CLI's entry point
    libraries={"click": "cli", "github": "github", "subprocess": "git"},
    max_lines=400,
    environ=ENVIRON,
)


def test_gitops_bot_is_in_shape() -> None:
    assert problems(scan(ROOT, "gitops_bot"), RULES) == []


def test_every_layer_exists_and_every_module_is_in_one() -> None:
    modules = scan(ROOT, "gitops_bot")
    assert {name.split(".")[1] for name in modules if name.count(".") >= 1} - {"__main__"} == set(LAYERS)
    assert sorted(set(ENVIRON) - set(modules)) == []  # no stale exemption


# -- the checker itself, on tiny packages ---------------------------------------------------------

SMALL = Rules(package="pkg", layers=("low", "high", "cli"),
              libraries={"click": "cli", "github": "gh", "subprocess": "low"},
              max_lines=10, environ={"pkg.cli.main": "edge"})


def make(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name in ("__init__.py", "low/__init__.py", "high/__init__.py", "cli/__init__.py", "gh/__init__.py", *files):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files.get(name, ""))
    return root


def check(tmp_path: Path, files: dict[str, str], rules: Rules = SMALL) -> list[str]:
    return problems(scan(make(tmp_path, files), "pkg"), rules)


def test_a_package_in_shape_passes(tmp_path: Path) -> None:
    assert check(tmp_path, {
        "low/a.py": "import subprocess\n",
        "high/b.py": "from pkg.low import a\nfrom ..low.a import x\n",
        "cli/main.py": "import os\nimport click\nfrom pkg.high.b import y\nos.environ.get('X')\n",
    }) == []


@pytest.mark.parametrize(("files", "said"), [
    ({"low/a.py": "from pkg.low import b\n", "low/b.py": "def f():\n    from pkg.low import a\n"},
     "import cycle: pkg.low.a <-> pkg.low.b"),
    ({"low/a.py": "from . import b\n", "low/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                                   "    from .a import A\n"},
     "import cycle: pkg.low.a <-> pkg.low.b"),
    ({"low/a.py": "import pkg.low.a\n"}, "import cycle: pkg.low.a"),
])
def test_an_import_cycle_fails_wherever_the_imports_are_written(tmp_path: Path, files: dict[str, str],
                                                                 said: str) -> None:
    assert said in check(tmp_path, files)


@pytest.mark.parametrize("source", ["from pkg.high import b\n", "import pkg.high.b\n", "from ..high.b import x\n",
                                    "def lazy():\n    from pkg.cli import main\n"])
def test_importing_a_higher_layer_fails(tmp_path: Path, source: str) -> None:
    found = check(tmp_path, {"low/a.py": source, "high/b.py": "", "cli/main.py": ""})
    assert len(found) == 1
    assert found[0].startswith("pkg.low.a:") and "a higher layer" in found[0]


def test_an_allowed_edge_is_not_reported(tmp_path: Path) -> None:
    rules = Rules(package="pkg", layers=("low", "high"), allowed={("pkg.low.a", "pkg.high.b"): "why"})
    assert check(tmp_path, {"low/a.py": "from pkg.high import b\n", "high/b.py": ""}, rules) == []


@pytest.mark.parametrize(("source", "library", "owner"), [
    ("import click\n", "click", "cli"),
    ("from click.core import Context\n", "click", "cli"),
    ("from github import Github\n", "github", "gh"),
    ("import github.PullRequest\n", "github", "gh"),
    ("import subprocess\n", "subprocess", "low"),
    ("from subprocess import run\n", "subprocess", "low"),
])
def test_a_library_outside_its_package_fails(tmp_path: Path, source: str, library: str, owner: str) -> None:
    found = check(tmp_path, {"high/b.py": source})
    assert found == [f"pkg.high.b:1: imports {library}, allowed only in pkg/{owner}/"]


def test_a_long_module_fails(tmp_path: Path) -> None:
    assert check(tmp_path, {"low/a.py": "x = 1\n" * 10}) == []
    assert check(tmp_path, {"low/a.py": "x = 1\n" * 11}) == ["pkg.low.a: 11 lines (at most 10)"]


@pytest.mark.parametrize("source", ["import os\nos.environ['A']\n", "import os\nos.getenv('A')\n",
                                    "from os import environ\n", "import os\nenv = dict(os.environ)\n"])
def test_reading_the_environment_off_the_edge_fails(tmp_path: Path, source: str) -> None:
    found = check(tmp_path, {"high/b.py": source})
    assert len(found) == 1
    assert found[0].startswith("pkg.high.b:") and "reads os.environ" in found[0]


def test_cycles_are_found_between_any_modules(tmp_path: Path) -> None:
    modules = scan(make(tmp_path, {"low/a.py": "from pkg.high import b\n", "high/b.py": "from pkg.cli import c\n",
                                   "cli/c.py": "import pkg.low.a\n"}), "pkg")
    assert cycles(modules) == [["pkg.cli.c", "pkg.high.b", "pkg.low.a"]]
