"""GitHub Actions integration: step outputs, the step summary, annotations and masking (docs/action.md).

Everything the CLI tells the runner goes through `ActionsWriter`, so that multi-line values use a
random delimiter and every text is redacted before it is written.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple, TextIO

from gitops_bot.model.context import RunContext


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(kind: str, message: str, title: str = "gitops-bot") -> str:
    """One workflow-command line (`::error title=gitops-bot::message`), its message escaped."""
    return f"::{kind} title={_escape_property(title)}::{_escape_data(message)}"


class ActionsWriter(NamedTuple):
    context: RunContext = RunContext()  # the default: not in Actions, no files
    redact: Callable[[str], str] = lambda s: s
    stream: TextIO | None = None

    @property
    def active(self) -> bool:
        return self.context.actions

    def _out(self) -> TextIO:
        # stderr: the runner reads workflow commands there too, and stdout stays one JSON document
        return self.stream or sys.stderr

    def mask(self, secret: str | None) -> None:
        if secret and self.active:
            print(f"::add-mask::{secret}", file=self._out(), flush=True)

    def error(self, message: str, title: str = "gitops-bot") -> None:
        if self.active:
            print(f"::error title={_escape_property(title)}::{_escape_data(self.redact(message))}",
                  file=self._out(), flush=True)

    def warning(self, message: str) -> None:
        if self.active:
            print(f"::warning::{_escape_data(self.redact(message))}", file=self._out(), flush=True)

    @contextlib.contextmanager
    def group(self, title: str) -> Iterator[None]:
        """Fold what is printed inside (progress lines) in the Actions log; nothing outside Actions."""
        if not self.active:
            yield
            return
        print(f"::group::{_escape_data(self.redact(title))}", file=self._out(), flush=True)
        try:
            yield
        finally:
            print("::endgroup::", file=self._out(), flush=True)

    def set_outputs(self, values: Mapping[str, str]) -> None:
        path = self.context.output
        if not path:
            return
        with open(path, "a", encoding="utf-8") as fh:
            for key, raw in values.items():
                value = self.redact(raw)
                if "\n" in value or "\r" in value:
                    delim = f"ghadelimiter_{uuid.uuid4()}"
                    fh.write(f"{key}<<{delim}\n{value}\n{delim}\n")
                else:
                    fh.write(f"{key}={value}\n")

    def summary(self, markdown: str) -> None:
        path = self.context.step_summary
        if path:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(self.redact(markdown).rstrip("\n") + "\n")

    def untrusted(self, text: str) -> str:
        """Wrap text that may hold `::` workflow commands so that the runner does not obey them."""
        if not self.active:
            return text
        token = uuid.uuid4().hex
        return f"::stop-commands::{token}\n{text.rstrip()}\n::{token}::\n"
