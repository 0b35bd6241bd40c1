"""Configuration: `.gitops-bot.yaml`, its built-in defaults and strict validation (docs/configuration.md)."""

from __future__ import annotations

import fnmatch
import io
import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from gitops_bot.config.github import WaitConfig, sign_mode
from gitops_bot.config.registry import RegistrySettings, parse_policies, parse_registry
from gitops_bot.model.errors import ConfigError, UsageError

if TYPE_CHECKING:  # policies load their semver rules only when a config has some (docs/startup.md)
    from gitops_bot.model.policy import Policy

CONFIG_FILE = ".gitops-bot.yaml"
DEFAULT_AUTHOR = "gitops-bot <gitops-bot@users.noreply.github.com>"
DELIVERIES = ("push", "pull-request")
POLICIES = ("any", "semver")
MAX_CONFIG_CHARS = 1_000_000  # a configuration is a few hundred lines

DEFAULTS_YAML = """\
gitops:
  repository: kai-platform/kai-gitops
environments:
  staging:
    branch: staging
    path: flux/clusters/staging
    source-refs: [refs/heads/staging]
    delivery: push
  production:
    branch: main
    path: flux/clusters/production
    source-refs: [refs/heads/main]
    delivery: pull-request
"""



def _defaults_data() -> dict[str, Any]:
    """DEFAULTS_YAML as its YAML parser reads it (a test checks they agree): no parser imported for it."""
    def env(branch: str, path: str, delivery: str) -> dict[str, Any]:
        return {"branch": branch, "path": path, "source-refs": [f"refs/heads/{branch}"], "delivery": delivery}

    return {"gitops": {"repository": "kai-platform/kai-gitops"},
            "environments": {"staging": env("staging", "flux/clusters/staging", "push"),
                             "production": env("main", "flux/clusters/production", "pull-request")}}


_SECTIONS = ("gitops", "environments", "images", "policy", "commit", "pull-request", "registry", "policies",
             "wait")
_PR_KEYS = ("labels", "reviewers", "team-reviewers", "draft", "auto-merge")
_BRANCH_RE = re.compile(r"[A-Za-z0-9._/-]+")


class PullRequestOptions(NamedTuple):
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    team_reviewers: tuple[str, ...] = ()
    draft: bool = False
    auto_merge: str | None = None  # None, or a merge method: merge | squash | rebase


class PullRequestOverrides(NamedTuple):
    """Pull-request flags of one command: they add to (lists) or override (draft, auto-merge) the config."""

    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    team_reviewers: tuple[str, ...] = ()
    draft: bool | None = None
    auto_merge: str | None = None

    def over(self, base: PullRequestOptions) -> PullRequestOptions:
        return PullRequestOptions(
            labels=tuple(dict.fromkeys(base.labels + self.labels)),
            reviewers=tuple(dict.fromkeys(base.reviewers + self.reviewers)),
            team_reviewers=tuple(dict.fromkeys(base.team_reviewers + self.team_reviewers)),
            draft=base.draft if self.draft is None else self.draft,
            auto_merge=self.auto_merge or base.auto_merge,
        )


class Environment(NamedTuple):
    name: str
    branch: str
    path: str
    source_refs: tuple[str, ...] = ()
    delivery: str = "push"
    values_files: tuple[str, ...] = ()  # globs relative to the repository root (docs/image-references.md)

    def deploys(self, ref: str) -> bool:
        return any(fnmatch.fnmatchcase(ref, pattern) for pattern in self.source_refs)


class Config(NamedTuple):
    repository: str
    url: str | None
    environments: Mapping[str, Environment]
    images: Mapping[str, str] = MappingProxyType({})
    policy: str = "any"
    author: str = DEFAULT_AUTHOR
    pull_request: PullRequestOptions = PullRequestOptions()
    source: str = "built-in defaults"
    sign: str = "none"  # commit.sign: none | github | ssh | gpg (docs/github.md)
    wait: WaitConfig = WaitConfig()
    registry: RegistrySettings = RegistrySettings()
    policies: Mapping[str, Policy] = MappingProxyType({})

    @classmethod
    def defaults(cls) -> Config:
        return _build(_defaults_data(), "built-in defaults")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Config:
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except OSError as err:
            raise ConfigError(f"cannot read config {path}: {err.strerror}") from err
        except UnicodeDecodeError as err:
            raise ConfigError(f"{path}: not UTF-8 text (byte {err.start}); save the file as UTF-8") from None
        return cls.from_text(text, os.fspath(path))

    @classmethod
    def from_text(cls, text: str, source: str) -> Config:
        if len(text) > MAX_CONFIG_CHARS:
            raise ConfigError(f"{source}: {len(text)} characters; a configuration is at most "
                              f"{MAX_CONFIG_CHARS} (is this the right file?)")
        from ruamel.yaml import YAML  # imported only when a configuration file is read
        from ruamel.yaml.error import YAMLError

        try:
            data = YAML(typ="safe", pure=True).load(io.StringIO(text))
        except RecursionError:  # thousands of nested [ or {: no configuration looks like that
            raise ConfigError(f"{source}: nested too deeply to be a configuration") from None
        except YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f"{source}:{mark.line + 1}" if mark else source
            problem = " ".join(str(getattr(err, "problem", None) or err).split())
            raise ConfigError(f"{where}: invalid YAML: {problem}") from err
        except (ValueError, TypeError) as err:  # a value YAML cannot construct (2001-13-45)
            raise ConfigError(f"{source}: invalid YAML value: {' '.join(str(err).split())}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the configuration must be a mapping")
        try:
            return _build(data, source)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments))
            raise UsageError(f"unknown environment {name!r} (known: {known})") from None

    def environment_for_ref(self, ref: str) -> Environment:
        for env in self.environments.values():
            if env.deploys(ref):
                return env
        raise UsageError(f"no environment deploys ref {ref!r}")

    def with_overrides(self, *, repository: str | None, url: str | None) -> Config:
        return self._replace(repository=repository or self.repository, url=url or self.url)


def _keys(section: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(section, dict):
        raise ConfigError(f"config key {where!r} must be a mapping")
    for key in section:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise ConfigError(f"unknown config key '{prefix}{key}'")
    return section


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"config key {where!r} must be a non-empty string")
    return value


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"config key {where!r} must be a list of strings")
    return tuple(value)


def _env_path(value: Any, where: str) -> str:
    text = _str(value, where)
    parts = [part for part in text.split("/") if part not in ("", ".")]  # as PurePosixPath reads it
    if text.startswith(("/", "\\")) or ".." in parts or ":" in (parts[0] if parts else ""):
        raise ConfigError(f"config key {where!r} leaves the repository: {text!r}")
    return "/".join(parts) or "."


def _environment(name: str, raw: Any) -> Environment:
    where = f"environments.{name}"
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name) or name.endswith((".", ".lock")):
        raise ConfigError(f"config key {where!r}: an environment name is letters, digits, '.', '_' and "
                          f"'-' (it names the branch gitops-bot/{name})")
    body = _keys(raw, where, ("branch", "path", "source-refs", "delivery", "values-files"))
    for required in ("branch", "path"):
        if required not in body:
            raise ConfigError(f"config key '{where}.{required}' is missing")
    branch = _str(body["branch"], f"{where}.branch")
    if not _BRANCH_RE.fullmatch(branch) or ".." in branch or branch.startswith(("-", "/")):
        raise ConfigError(f"config key '{where}.branch' is not a valid branch name: {branch!r}")
    delivery = body.get("delivery", "push")
    if delivery not in DELIVERIES:
        raise ConfigError(f"config key '{where}.delivery' must be one of {', '.join(DELIVERIES)}")
    return Environment(
        name=name,
        branch=branch,
        path=_env_path(body["path"], f"{where}.path"),
        source_refs=_str_list(body.get("source-refs", []), f"{where}.source-refs"),
        delivery=delivery,
        values_files=tuple(_env_path(v, f"{where}.values-files")
                           for v in _str_list(body.get("values-files", []), f"{where}.values-files")),
    )


def _pull_request(raw: Any) -> PullRequestOptions:
    body = _keys(raw, "pull-request", _PR_KEYS)
    draft = body.get("draft", False)
    if not isinstance(draft, bool):
        raise ConfigError("config key 'pull-request.draft' must be true or false")
    auto = body.get("auto-merge")
    if auto is True:
        auto = "squash"
    if auto not in (None, False, "merge", "squash", "rebase"):
        raise ConfigError("config key 'pull-request.auto-merge' must be merge, squash, rebase or false")
    return PullRequestOptions(
        labels=_str_list(body.get("labels", []), "pull-request.labels"),
        reviewers=_str_list(body.get("reviewers", []), "pull-request.reviewers"),
        team_reviewers=_str_list(body.get("team-reviewers", []), "pull-request.team-reviewers"),
        draft=draft,
        auto_merge=auto or None,
    )


def _build(data: dict[str, Any], source: str) -> Config:
    _keys(data, "", _SECTIONS)
    defaults = (
        _defaults_data() if source != "built-in defaults" else data
    )
    merged = {**defaults, **data}  # a section a file sets replaces that whole section

    gitops = _keys(merged.get("gitops"), "gitops", ("repository", "url"))
    if "repository" not in gitops:
        raise ConfigError("config key 'gitops.repository' is missing")
    url = gitops.get("url")

    envs_raw = merged.get("environments")
    if not isinstance(envs_raw, dict) or not envs_raw:
        raise ConfigError("config key 'environments' must map at least one environment")
    environments = {str(name): _environment(str(name), body) for name, body in envs_raw.items()}

    images = merged.get("images") or {}
    if not isinstance(images, dict):
        raise ConfigError("config key 'images' must map short names to image repositories")
    aliases = {str(k): _str(v, f"images.{k}") for k, v in images.items()}

    policy = merged.get("policy", "any")
    if policy not in POLICIES:
        raise ConfigError(f"config key 'policy' must be one of {', '.join(POLICIES)}")

    commit = _keys(merged.get("commit") or {}, "commit", ("author", "sign"))
    author = _str(commit.get("author", DEFAULT_AUTHOR), "commit.author")
    if not re.fullmatch(r"[^<>]+ <[^<>\s]+>", author):
        raise ConfigError(f"config key 'commit.author' must look like 'Name <email>': {author!r}")

    return Config(
        repository=_str(gitops["repository"], "gitops.repository"),
        url=_str(url, "gitops.url") if url is not None else None,
        environments=environments,
        images=aliases,
        policy=policy,
        author=author,
        pull_request=_pull_request(merged.get("pull-request") or {}),
        source=source,
        sign=sign_mode(commit.get("sign")),
        wait=WaitConfig.from_raw(merged.get("wait")),
        registry=parse_registry(merged.get("registry")),
        policies=parse_policies(merged.get("policies")),
    )
