"""The run's ambient inputs: what the code reads of the GitHub Actions environment, read once.

gitops_bot.cli builds one `RunContext.from_env(os.environ)` when a run starts and passes it down;
nothing below the CLI reads os.environ for these. Values are kept as given (unset: None); URLs
are checked where they are used, so that a bad GITHUB_API_URL fails only the commands that call
the API (exit 2 naming the variable).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

DEFAULT_SERVER = "https://github.com"


def _value(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name)  # as given: an empty value stays "" (each reader decides what it means)


class RunContext(NamedTuple):
    actions: bool = False  # GITHUB_ACTIONS=true: running as a GitHub Actions step
    server_url: str | None = None  # GITHUB_SERVER_URL
    api_url: str | None = None  # GITHUB_API_URL
    graphql_url: str | None = None  # GITHUB_GRAPHQL_URL
    repository: str | None = None  # GITHUB_REPOSITORY: the workflow's repository (not the GitOps one)
    run_id: str | None = None  # GITHUB_RUN_ID
    sha: str | None = None  # GITHUB_SHA
    actor: str | None = None  # GITHUB_ACTOR
    output: str | None = None  # GITHUB_OUTPUT: the step outputs file
    step_summary: str | None = None  # GITHUB_STEP_SUMMARY
    docker_config: str | None = None  # DOCKER_CONFIG: registry logins and credential helpers
    home: str | None = None  # HOME: ~/.docker/config.json when DOCKER_CONFIG is unset
    ca_bundle: str | None = None  # REQUESTS_CA_BUNDLE, else SSL_CERT_FILE: the registries' TLS roots

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RunContext:
        return cls(
            actions=environ.get("GITHUB_ACTIONS") == "true",
            server_url=_value(environ, "GITHUB_SERVER_URL"),
            api_url=_value(environ, "GITHUB_API_URL"),
            graphql_url=_value(environ, "GITHUB_GRAPHQL_URL"),
            repository=_value(environ, "GITHUB_REPOSITORY"),
            run_id=_value(environ, "GITHUB_RUN_ID"),
            sha=_value(environ, "GITHUB_SHA"),
            actor=_value(environ, "GITHUB_ACTOR"),
            output=_value(environ, "GITHUB_OUTPUT"),
            step_summary=_value(environ, "GITHUB_STEP_SUMMARY"),
            docker_config=_value(environ, "DOCKER_CONFIG"),
            home=_value(environ, "HOME"),
            ca_bundle=environ.get("REQUESTS_CA_BUNDLE") or environ.get("SSL_CERT_FILE"),
        )

    @property
    def server(self) -> str:
        """The GitHub server's URL (github.com unless GITHUB_SERVER_URL names another)."""
        return self.server_url or DEFAULT_SERVER

    def registry_environ(self) -> dict[str, str]:
        """What gitops_bot.registry reads to log in to registries, as the variables it names them by."""
        given = {"DOCKER_CONFIG": self.docker_config, "HOME": self.home, "GITHUB_ACTOR": self.actor,
                 "GITHUB_SERVER_URL": self.server_url, "REQUESTS_CA_BUNDLE": self.ca_bundle}
        return {name: value for name, value in given.items() if value is not None}
