"""`.gitops-bot.yaml`: defaults, section-by-section replacement, strict validation (docs/configuration.md)."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitops_bot.cli.exits import exit_code
from gitops_bot.config.settings import DEFAULT_AUTHOR, Config, Environment
from gitops_bot.model.errors import ConfigError, UsageError
from tests.support.paths import REPO

TREE_CONFIG = REPO / "fixtures" / "trees" / "mixed" / ".gitops-bot.yaml"

DEFAULT_ENVIRONMENTS = {
    "staging": Environment("staging", "staging", "flux/clusters/staging", ("refs/heads/staging",), "push"),
    "production": Environment(
        "production", "main", "flux/clusters/production", ("refs/heads/main",), "pull-request"
    ),
}


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        Config.from_text(text, ".gitops-bot.yaml")
    assert exit_code(err.value) == 2
    return err.value


def test_defaults_are_the_contract_file() -> None:
    config = Config.defaults()
    assert config.repository == "kai-platform/kai-gitops"
    assert config.url is None
    assert dict(config.environments) == DEFAULT_ENVIRONMENTS
    assert dict(config.images) == {}
    assert config.policy == "any"
    assert config.author == DEFAULT_AUTHOR


def test_an_empty_file_keeps_every_default() -> None:
    config = Config.from_text("# nothing here\n", "c.yaml")
    assert dict(config.environments) == DEFAULT_ENVIRONMENTS
    assert config.repository == "kai-platform/kai-gitops"


def test_a_section_replaces_its_default_and_the_others_stay() -> None:
    config = Config.from_text(
        "environments:\n  dev:\n    branch: dev\n    path: envs/dev\n"
        "images:\n  api: ghcr.io/kai-platform/kai-api-server\npolicy: semver\n",
        "c.yaml",
    )
    assert list(config.environments) == ["dev"]  # staging and production are gone, not merged
    assert config.environments["dev"] == Environment("dev", "dev", "envs/dev", (), "push")
    assert config.repository == "kai-platform/kai-gitops"  # gitops: default kept
    assert dict(config.images) == {"api": "ghcr.io/kai-platform/kai-api-server"}
    assert config.policy == "semver"


def test_gitops_section_replaces_the_whole_default_section() -> None:
    config = Config.from_text("gitops:\n  repository: acme/ops\n  url: file:///srv/ops.git\n", "c.yaml")
    assert (config.repository, config.url) == ("acme/ops", "file:///srv/ops.git")
    assert dict(config.environments) == DEFAULT_ENVIRONMENTS
    with pytest.raises(ConfigError, match=r"'gitops\.repository' is missing"):
        Config.from_text("gitops:\n  url: file:///srv/ops.git\n", "c.yaml")


def test_the_tree_config_loads() -> None:
    config = Config.from_file(TREE_CONFIG)
    assert config.environments["staging"].path == "clusters/staging"
    assert config.environments["production"].deploys("refs/tags/v1.2.3")
    assert config.environment_for_ref("refs/heads/main").name == "production"
    assert config.images["coordinator"] == "ghcr.io/kai-platform/kai-coordinator"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("gitops:\n  repository: a/b\nnotifications: {}\n", "'notifications'"),
        ("gitops:\n  repository: a/b\n  token: x\n", "'gitops.token'"),
        ("environments:\n  s:\n    branch: s\n    path: p\n    paths: q\n", "'environments.s.paths'"),
        ("commit:\n  author: A <a@b>\n  signoff: true\n", "'commit.signoff'"),
    ],
)
def test_unknown_keys_are_refused_by_name(text: str, key: str) -> None:
    assert f"unknown config key {key}" in str(refused(text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("environments:\n  s:\n    path: p\n", "'environments.s.branch' is missing"),
        ("environments:\n  s:\n    branch: s\n", "'environments.s.path' is missing"),
        ("environments:\n  s: {branch: '', path: p}\n", "'environments.s.branch' must be a non-empty string"),
        ("environments:\n  s: {branch: a..b, path: p}\n", "'environments.s.branch' is not a valid branch"),
        ("environments:\n  s: {branch: -x, path: p}\n", "'environments.s.branch' is not a valid branch"),
        ("environments:\n  s:\n", "'environments.s' must be a mapping"),
        ("environments: {}\n", "'environments' must map at least one environment"),
        ("environments:\n  s: {branch: s, path: p, delivery: x}\n", "'environments.s.delivery' must be"),
        ("environments:\n  s: {branch: s, path: p, source-refs: [1]}\n", "'environments.s.source-refs'"),
        ("policy: newest\n", "'policy' must be one of"),
        ("images:\n  api: 42\n", "'images.api'"),
        ("images: [a, b]\n", "'images'"),
        ("commit:\n  author: gitops-bot\n", "'commit.author' must look like 'Name <email>'"),
    ],
)
def test_invalid_fields_are_refused_by_name(text: str, message: str) -> None:
    assert message in str(refused(text))


@pytest.mark.parametrize(
    "path", ["../other", "flux/../../etc", "/etc/flux", "\\\\server\\share", "C:/flux", ".."]
)
def test_a_path_that_leaves_the_repository_is_refused(path: str) -> None:
    text = f"environments:\n  staging:\n    branch: staging\n    path: '{path}'\n"
    assert "config key 'environments.staging.path' leaves the repository" in str(refused(text))


@pytest.mark.parametrize(
    ("path", "normal"), [("flux/./staging/", "flux/staging"), (".", "."), ("a/b..c", "a/b..c")]
)
def test_paths_inside_the_repository_are_normalised(path: str, normal: str) -> None:
    config = Config.from_text(f"environments:\n  s:\n    branch: s\n    path: '{path}'\n", "c.yaml")
    assert config.environments["s"].path == normal


@given(st.text(alphabet="a./\\:", min_size=1, max_size=12))
def test_a_path_is_read_as_a_posix_path_reads_it(path: str) -> None:
    # the rule as PurePosixPath states it (the reader splits the text itself: no pathlib at start-up)
    posix = PurePosixPath(path)
    leaves = posix.is_absolute() or path.startswith("\\") or ".." in posix.parts or ":" in "".join(posix.parts[:1])
    text = f"environments:\n  s:\n    branch: s\n    path: {json.dumps(path)}\n"
    if leaves:
        assert "leaves the repository" in str(refused(text))
    else:
        assert Config.from_text(text, "c.yaml").environments["s"].path == str(posix)


def test_invalid_yaml_names_file_and_line() -> None:
    message = str(refused("gitops:\n  repository: a/b\nenvironments:\n  s: [\n"))
    assert message.startswith(".gitops-bot.yaml:")
    assert "invalid YAML" in message
    line = int(message.split(":")[1])
    assert 4 <= line <= 5


def test_a_config_that_is_not_a_mapping_is_refused() -> None:
    assert "must be a mapping" in str(refused("- staging\n- production\n"))


def test_a_missing_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config") as err:
        Config.from_file(tmp_path / "nope.yaml")
    assert exit_code(err.value) == 2


def test_config_file_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / ".gitops-bot.yaml"
    path.write_text("environments:\n  qa: {branch: qa, path: k8s/qa, source-refs: [refs/heads/release/*]}\n")
    config = Config.from_file(path)
    assert config.source == str(path)
    assert config.environment_for_ref("refs/heads/release/2024.06").name == "qa"


def test_unknown_environment_and_ref() -> None:
    config = Config.defaults()
    with pytest.raises(UsageError, match="unknown environment 'qa' \\(known: production, staging\\)"):
        config.environment("qa")
    with pytest.raises(UsageError, match="no environment deploys ref 'refs/heads/feature'"):
        config.environment_for_ref("refs/heads/feature")
    assert config.environment_for_ref("refs/heads/staging").name == "staging"
