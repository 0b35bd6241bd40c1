"""A run against the GitOps repository: options, configuration lookup, the clone and the environment."""

from __future__ import annotations

import contextlib
import re
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from gitops_bot.config.settings import CONFIG_FILE, Config, Environment
from gitops_bot.github.credentials import Credentials
from gitops_bot.model.context import RunContext
from gitops_bot.model.errors import ConfigError, UsageError
from gitops_bot.model.timebudget import DEFAULT_TIMEOUT, TimeBudget

if TYPE_CHECKING:  # the clone's modules load with the first Session, not with Options (docs/startup.md)
    from gitops_bot.git.workspace import Workspace
    from gitops_bot.manifests.scan import Manifest
    from gitops_bot.model.tree import RepoFile

BOT_DIR = ".gitops-bot"
_SLUG = re.compile(r"[\w.-]+/[\w.-]+")


class Options(NamedTuple):
    """The global command-line options (docs/commands.md)."""

    config: str | None = None  # paths as given (str: no pathlib at start-up, docs/startup.md)
    repo: str | None = None
    remote_url: str | None = None
    workdir: str | None = None  # absolute (click resolves it)
    retries: int = 25
    timeout: int = DEFAULT_TIMEOUT  # seconds: every network operation, and the run's network work
    output: str = "text"
    dry_run: bool = False
    verbose: bool = False

    def base_config(self) -> Config:
        return Config.from_file(self.config) if self.config else Config.defaults()


class EnvRequest(NamedTuple):
    """Which environment a command targets: by name, or by the app-repo ref that deploys."""

    name: str | None = None
    ref: str | None = None

    def pick(self, config: Config) -> Environment:
        if self.name:
            return config.environment(self.name)
        if self.ref:
            return config.environment_for_ref(self.ref)
        raise UsageError("give --env ENV or --ref REF")


def _check_slug(slug: str, url: str, server_url: str | None) -> None:
    """The GitHub API slug must name the repository that is cloned, when the URL is on the same server.

    Otherwise the token would be used on one repository's API (pull requests, statuses) while the
    commits go to another. URLs of other hosts, file:// and paths have nothing to compare.
    """
    if not _SLUG.fullmatch(slug):
        return
    from urllib.parse import urlsplit  # a clone, not `environment`: urllib.parse loads ipaddress (docs/startup.md)

    server = urlsplit(server_url or "https://github.com").hostname
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ssh") and parts.hostname == server:
        path = parts.path
    elif "://" not in url and url.startswith("git@") and url[4:].partition(":")[0] == server:
        path = url.partition(":")[2]
    else:
        return
    if path.strip("/").removesuffix(".git").lower() != slug.removesuffix(".git").lower():
        raise UsageError(f"the clone URL {url} is not the repository {slug} that the GitHub API would be "
                         f"called for: give --repo OWNER/NAME and --remote-url of the same repository")


def _refuse_gitops_section(text: str, where: str) -> None:
    """The repository's own file may not say which repository the token writes to (exit 2)."""
    from ruamel.yaml import YAML  # the repository's own file: only when it has one
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except (YAMLError, RecursionError, ValueError, TypeError):
        return  # Config.from_text reports it (file:line, the nesting, or the value it cannot read)
    if not isinstance(data, dict) or "gitops" not in data:
        return
    section = data["gitops"]
    keys = [k for k in ("repository", "url") if isinstance(section, dict) and k in section]
    key = f"gitops.{keys[0]}" if keys else "gitops"
    raise ConfigError(f"{where}: config key '{key}' may not be set in the GitOps repository's own file: "
                      f"the repository the token writes to is chosen by the caller (--repo, --remote-url, "
                      f"--config or the Action's gitops-repository input); remove the key "
                      f"(see docs/trust-model.md)")


class Session:
    """Owns the clone for one command; resolves the configuration in the order docs/configuration.md gives."""

    def __init__(self, options: Options, credentials: Credentials, context: RunContext):
        from pathlib import Path

        from gitops_bot.git.signing import signing
        from gitops_bot.git.workspace import Workspace, remote_url

        self._prefetch: threading.Thread | None = None  # a fetch started by prefetch()
        self._prefetch_error: BaseException | None = None
        self.options = options
        self.credentials = credentials
        self.context = context  # the GitHub Actions run, read once at the edge (gitops_bot.model.context)
        base = options.base_config()
        self._config = base.with_overrides(repository=options.repo, url=None)
        self._explicit = options.config is not None
        self.push_only: str | None = None  # set by --wait: pull-request delivery is refused (docs/github.md)
        self.url = options.remote_url or (None if options.repo else base.url) or remote_url(
            self.config.repository, context.server_url
        )
        if self.url.startswith("-"):  # git would read it as an option (docs/trust-model.md)
            raise UsageError(f"clone URL {self.url!r} (--remote-url or gitops.url) starts with '-', which git "
                             f"reads as an option; give a URL (https://..., file://...) or a path like ./{self.url}")
        _check_slug(self.config.repository, self.url, context.server_url)  # before a GitHub App token is minted for it
        progress = options.verbose or sys.stderr.isatty()
        self.budget = TimeBudget(options.timeout)
        # a GitHub App's token, minted within --timeout
        self.credentials = self.credentials.resolved(self.config.repository, self.budget.cap(30))
        workdir = Path(options.workdir) if options.workdir else None
        self._ws = Workspace.open(self.url, self.credentials, workdir=workdir, progress=progress,
                                  budget=self.budget, fold=context.actions)
        self._ws.signer = lambda: signing(self.config.sign, self.credentials.signing_key)  # commit.sign
        self._repo_config_read = False
        self._heads: dict[str, str] = {}  # branch -> commit fetched by environment lookups
        self._well_formed: set[bytes] = set()  # file contents checked already: a re-plan checks only new ones

    @property
    def config(self) -> Config:
        """The configuration; the repository's own, once a prefetch that reads it has finished."""
        self._settle()
        return self._config

    @property
    def ws(self) -> Workspace:
        """The clone; a fetch started by `prefetch` has finished by the time it is handed out."""
        self._settle()
        return self._ws

    def prefetch(self, request: EnvRequest) -> None:
        """Start what `environment(request)` fetches (the repository's config, the branch) in a
        thread, so that the command's modules load meanwhile (docs/startup.md). Its outcome, an
        error included, is the next `environment()`'s.

        Then the environment's files are read as well (their blobs fetched, `Workspace.read_files`
        keeps them), which a bump's plan reads first: best effort, since the plan reads them again
        and reports whatever went wrong there, where the command expects it.
        """

        def fetch() -> None:
            try:
                env, commit = self._environment(request)
            except BaseException as err:  # handed to the thread that needs the outcome, raised there
                self._prefetch_error = err
                return
            with contextlib.suppress(Exception):  # the plan's own read raises it again, in its place
                self._ws.read_files(commit, env.path)

        self._prefetch = threading.Thread(target=fetch, name="gitops-bot-prefetch", daemon=True)
        self._prefetch.start()

    def _settle(self) -> None:
        """Wait for the prefetch (from any thread but its own); raise what it raised."""
        thread = self._prefetch
        if thread is None or thread is threading.current_thread():
            return
        thread.join()
        self._prefetch = None
        error, self._prefetch_error = self._prefetch_error, None
        if error is not None:
            raise error

    def close(self) -> None:
        if self._prefetch is not None and self._prefetch.is_alive():
            self._ws.git.stop()  # the run ends early (an error, an interrupt): stop the fetch first
            self._prefetch.join()
        self._prefetch = None
        self._ws.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def environment(self, request: EnvRequest) -> tuple[Environment, str]:
        """The target environment and the commit at the tip of its branch (fetched).

        The repository's own config, when it is used, is read first and from the default branch
        only (docs/trust-model.md): which environment, branch and path a run writes is never
        decided by content on the branch being written.
        """
        self._settle()
        return self._environment(request)

    def _environment(self, request: EnvRequest) -> tuple[Environment, str]:
        if not self._explicit and not self._repo_config_read:
            try:  # the defaults' guess at the branch, fetched in the same request as the default branch
                guess: str | None = request.pick(self.config).branch
            except UsageError:
                guess = None
            self._read_repo_config(guess)
        env = request.pick(self.config)
        if env.branch not in self._heads:
            self._heads[env.branch] = self.ws.fetch(env.branch)
        return env, self._heads[env.branch]

    def load_config(self) -> Config:
        """The configuration, with the repository's own file read (from the default branch) if needed."""
        self._settle()
        if not self._explicit and not self._repo_config_read:
            self._read_repo_config(None)
        return self.config

    def _read_repo_config(self, branch: str | None) -> None:
        """Fetch the default branch (and `branch`, in the same request) and read its config file.

        A remote whose HEAD names no branch has no trusted place for the file: it is not read, the
        built-in defaults apply, and a warning says how to choose (`--config`).
        """
        self._repo_config_read = True
        default, tip = self.ws.fetch_default_and(branch)
        if branch and tip:
            self._heads[branch] = tip
        if default is None:
            import logging  # environment, which reads no repository, loads no logging (docs/startup.md)

            logging.getLogger("gitops_bot").warning(
                "the GitOps repository's HEAD names no branch, so it has no default branch to read %s from; "
                "using the built-in defaults (give --config to use a file)", CONFIG_FILE)
            return
        self._load_repo_config(default)

    def _load_repo_config(self, commit: str) -> None:
        """The repository's own config, read from its default branch at `commit`."""
        where = f"{CONFIG_FILE} (on the default branch)"
        data = self.ws.read_file(commit, CONFIG_FILE)
        if data is None:
            return
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: not UTF-8 text") from None
        _refuse_gitops_section(text, where)
        repo_cfg = Config.from_text(text, where)
        import logging

        logging.getLogger("gitops_bot").info("using %s from the GitOps repository's default branch", CONFIG_FILE)
        # where the token goes stays the caller's choice: --repo, else --config/defaults
        self._config = repo_cfg._replace(repository=self._config.repository, url=None)

    def other_environment(self, name: str) -> tuple[Environment, str]:
        """Another environment of the same configuration and its branch tip (fetched once a run)."""
        self._settle()
        env = self.config.environment(name)
        if env.branch not in self._heads:
            self._heads[env.branch] = self.ws.fetch(env.branch)
        return env, self._heads[env.branch]

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
        from gitops_bot.manifests.nodes import check_syntax
        from gitops_bot.manifests.scan import Manifest
        from gitops_bot.manifests.valuesfiles import needs_parsing
        from gitops_bot.planning.valuesenv import with_values

        files = self.files(env, commit)
        out = []
        for f in files:
            if needles is None or any(n in f.data for n in needles) or needs_parsing(f.data):
                out.append(Manifest.parse(f.path, f.data))
            elif f.data not in self._well_formed:
                check_syntax(f.data, f.path)
                self._well_formed.add(f.data)
        return with_values(self.ws, env, commit, out, needles)  # and its Helm values files
