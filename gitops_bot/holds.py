"""Holds: images pinned so that `bump` and `promote` leave them alone (`.gitops-bot/holds.yaml`)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from gitops_bot.errors import ConfigError
from gitops_bot.workspace import Workspace

HOLDS_FILE = ".gitops-bot/holds.yaml"


@dataclass(frozen=True)
class Hold:
    reason: str
    by: str = ""
    at: str = ""


def _yaml() -> YAML:
    y = YAML()  # round-trip: keeps the comments people add to the file
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def parse_holds(data: bytes | None) -> dict[str, Hold]:
    if not data:
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:  # also a UTF-16 file, which ruamel would read as empty
        raise ConfigError(f"{HOLDS_FILE}: not UTF-8 text (byte {err.start})") from None
    try:
        doc = _yaml().load(io.StringIO(text))
    except RecursionError:
        raise ConfigError(f"{HOLDS_FILE}: nested too deeply to be a holds file") from None
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{HOLDS_FILE}: invalid YAML value: {' '.join(str(err).split())}") from None
    except YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{HOLDS_FILE}{line}: invalid YAML: {problem}") from None
    if doc is not None and not isinstance(doc, Mapping):
        raise ConfigError(f"{HOLDS_FILE}: must be a mapping with a 'holds' key")
    holds = (doc or {}).get("holds") or {}
    if not isinstance(holds, Mapping):
        raise ConfigError(f"{HOLDS_FILE}: 'holds' must map image repositories to reasons")
    out = {}
    for repo, body in holds.items():
        if isinstance(body, str):
            out[str(repo)] = Hold(body)
        elif isinstance(body, Mapping):
            out[str(repo)] = Hold(str(body.get("reason", "")), str(body.get("by", "")),
                                  str(body.get("at", "")))
        else:
            raise ConfigError(f"{HOLDS_FILE}: hold of {repo} must be a mapping")
    return out


def read_holds(ws: Workspace, commit: str) -> dict[str, str]:
    """Held image repositories and a one-line description of each hold."""
    holds = parse_holds(ws.read_file(commit, HOLDS_FILE))
    return {repo: _describe(h) for repo, h in holds.items()}


def _describe(hold: Hold) -> str:
    who = f" ({hold.by}{', ' + hold.at if hold.at else ''})" if hold.by else ""
    return f"{hold.reason}{who}"


def render_holds(old: bytes | None, add: Mapping[str, Hold], remove: set[str]) -> bytes:
    """The holds file with `add` set and `remove` released, keeping its comments."""
    parse_holds(old)  # refuse a malformed file (exit 2) before editing it
    y = _yaml()
    doc: Any = y.load(io.BytesIO(old)) if old else None
    if not doc:
        doc = y.load("# Images held by gitops-bot: bump and promote leave them alone.\nholds: {}\n")
    if doc.get("holds") is None:
        doc["holds"] = {}
    holds = doc["holds"]
    if hasattr(holds, "fa"):
        holds.fa.set_block_style()
    for repo in remove:
        holds.pop(repo, None)
    for repo, hold in add.items():
        holds[repo] = {"reason": hold.reason, "by": hold.by, "at": hold.at}
    buf = io.BytesIO()
    y.dump(doc, buf)
    return buf.getvalue()
