"""A run against the GitOps repository: options, configuration lookup, the clone and the environment."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitops_bot.config import CONFIG_FILE, Config, Environment
from gitops_bot.credentials import Credentials
from gitops_bot.errors import ConfigError, GitError, UsageError
from gitops_bot.manifests import Manifest
from gitops_bot.valuesenv import with_values
from gitops_bot.valuesfiles import needs_parsing
from gitops_bot.workspace import RepoFile, Workspace, remote_url
from gitops_bot.yamlnodes import check_syntax

log = logging.getLogger("gitops_bot")
BOT_DIR = ".gitops-bot"


@dataclass(frozen=True)
class Options:
    """The global command-line options (CONTRACT §5)."""

    config: Path | None = None
    repo: str | None = None
    remote_url: str | None = None
    workdir: Path | None = None
    retries: int = 5
    output: str = "text"
    dry_run: bool = False
    verbose: bool = False

    def base_config(self) -> Config:
        return Config.from_file(self.config) if self.config else Config.defaults()


@dataclass(frozen=True)
class EnvRequest:
    """Which environment a command targets: by name, or by the app-repo ref that deploys."""

    name: str | None = None
    ref: str | None = None

    def pick(self, config: Config) -> Environment:
        if self.name:
            return config.environment(self.name)
        if self.ref:
            return config.environment_for_ref(self.ref)
        raise UsageError("give --env ENV or --ref REF")


class Session:
    """Owns the clone for one command; resolves the configuration as CONTRACT §2 orders it."""

    def __init__(self, options: Options, credentials: Credentials | None = None):
        self.options = options
        self.credentials = credentials or Credentials.from_env()
        base = options.base_config()
        self.config = base.with_overrides(repository=options.repo, url=None)
        self._explicit = options.config is not None
        self.url = options.remote_url or (None if options.repo else base.url) or remote_url(
            self.config.repository
        )
        progress = options.verbose or sys.stderr.isatty()
        self.ws = Workspace.open(self.url, self.credentials, workdir=options.workdir, progress=progress)
        self._repo_config_read = False
        self._heads: dict[str, str] = {}  # branch -> commit fetched by environment lookups

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def environment(self, request: EnvRequest) -> tuple[Environment, str]:
        """The target environment and the commit at the tip of its branch (fetched)."""
        settled = self._explicit or self._repo_config_read
        try:
            env: Environment | None = request.pick(self.config)
        except UsageError:
            if settled:
                raise
            env = None
        commit = None
        if env is not None:
            try:
                commit = self.ws.fetch(env.branch)
            except GitError:
                if settled:
                    raise
                env = None  # the repository's own config may name other branches
        if commit is None:
            commit = self.ws.fetch_default()
        if not settled:
            self._load_repo_config(commit, env.branch if env else "the default branch")
            picked = request.pick(self.config)
            if env is None or picked.branch != env.branch:
                commit = self.ws.fetch(picked.branch)
            env = picked
        assert env is not None
        self._heads[env.branch] = commit
        return env, commit

    def load_config(self) -> Config:
        """The configuration, with the repository's own file read (from the default branch) if needed."""
        if not self._explicit and not self._repo_config_read:
            self._load_repo_config(self.ws.fetch_default(), "the default branch")
        return self.config

    def _load_repo_config(self, commit: str, branch: str) -> None:
        """The repository's own config, read from the branch the defaults (or HEAD) point at."""
        self._repo_config_read = True
        data = self.ws.read_file(commit, CONFIG_FILE)
        if data is None:
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{CONFIG_FILE} (on {branch}): not UTF-8 text") from None
        repo_cfg = Config.from_text(text, f"{CONFIG_FILE} (on {branch})")
        log.info("using %s from the GitOps repository", CONFIG_FILE)
        self.config = repo_cfg.with_overrides(repository=self.options.repo, url=None)

    def other_environment(self, name: str) -> tuple[Environment, str]:
        """Another environment of the same configuration and its branch tip (fetched once a run)."""
        env = self.config.environment(name)
        if env.branch not in self._heads:
            self._heads[env.branch] = self.ws.fetch(env.branch)
        return env, self._heads[env.branch]

    def checkout(self, env: Environment, commit: str) -> None:
        self.ws.checkout(commit, env.branch, [env.path, BOT_DIR])

    def files(self, env: Environment, commit: str) -> list[RepoFile]:
        """The environment's YAML files at `commit`; exit 2 when its path does not exist there."""
        files = self.ws.read_files(commit, env.path)
        if not files and self.ws.read_file(commit, env.path) is None:
            raise UsageError(f"environment {env.name}: path {env.path!r} does not exist on branch "
                             f"{env.branch!r}")
        return files

    def manifests(self, env: Environment, commit: str,
                  needles: Sequence[bytes] | None = None) -> list[Manifest]:
        """The environment's YAML files at `commit`, parsed.

        With `needles`, a file that contains none of them cannot hold what the command looks for:
        it is only checked to be well-formed YAML (a malformed file still stops the run), not parsed.
        """
        files = self.files(env, commit)
        out = []
        for f in files:
            if needles is None or any(n in f.data for n in needles) or needs_parsing(f.data):
                out.append(Manifest.parse(f.path, f.data))
            else:
                check_syntax(f.data, f.path)
        return with_values(self.ws, env, commit, out, needles)  # and its Helm values files
