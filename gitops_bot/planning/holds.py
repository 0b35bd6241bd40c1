"""Holds: images pinned so that `bump` and `promote` leave them alone (`.gitops-bot/holds.yaml`)."""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import yaml as pyyaml

from gitops_bot.model.errors import ConfigError
from gitops_bot.model.tree import TreeReader
from gitops_bot.model.untrusted import line as one_line

if TYPE_CHECKING:  # ruamel.yaml is imported when there is a holds file to read or write
    from ruamel.yaml import YAML

HOLDS_FILE = ".gitops-bot/holds.yaml"
# Bounds on reading the file (docs/trust-model.md): it lives on the environment's branch, which
# many people can edit, and is read with the pure-Python ruamel.yaml.
MAX_BYTES = 256 << 10  # ~2,000 holds; the round-trip reader takes ~0.5 s per 100 KiB
MAX_DEPTH = 32
MAX_NODES = 100_000  # nodes counted as an alias-expanding reader would reach them


@dataclass(frozen=True)
class Hold:
    reason: str
    by: str = ""
    at: str = ""


def _yaml() -> YAML:
    from ruamel.yaml import YAML

    y = YAML()  # round-trip: keeps the comments people add to the file
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _events(data: bytes) -> Iterator[Any]:
    """The file's parser events: libyaml's (fast) when it can read the file, else ruamel's."""
    loader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)
    try:
        yield from pyyaml.parse(data, Loader=loader)
    except pyyaml.YAMLError:  # something only ruamel reads (or malformed): walk it with ruamel
        from ruamel.yaml import YAML

        yield from YAML(typ="safe", pure=True).parse(io.BytesIO(data))


def _bounded(data: bytes) -> None:
    """Refuse, before building anything, a file too big, too deep or whose aliases expand too far.

    The file is walked as a stream of parser events (no recursion, no objects built): each node
    counts once, and an alias counts as many nodes as the node it names held, so a "billion laughs"
    is refused after a few levels instead of exhausting memory.
    """
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{HOLDS_FILE}: {len(data)} bytes, more than the limit of {MAX_BYTES}")
    sizes: dict[str, int] = {}
    open_nodes: list[tuple[str | None, int]] = []
    nodes = 0
    for event in _events(data):
        kind = type(event).__name__
        if kind == "AliasEvent":
            nodes += sizes.get(event.anchor, 1)
        elif kind == "ScalarEvent":
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif kind in ("MappingStartEvent", "SequenceStartEvent"):
            open_nodes.append((event.anchor, nodes))
            nodes += 1
            if len(open_nodes) > MAX_DEPTH:
                raise ConfigError(f"{HOLDS_FILE}:{event.start_mark.line + 1}: nested deeper than "
                                  f"{MAX_DEPTH} levels")
        elif kind in ("MappingEndEvent", "SequenceEndEvent") and open_nodes:
            anchor, start = open_nodes.pop()
            if anchor:
                sizes[anchor] = nodes - start
        if nodes > MAX_NODES:
            raise ConfigError(f"{HOLDS_FILE}:{event.start_mark.line + 1}: aliases expand to more than "
                              f"{MAX_NODES} nodes")


def _text(value: Any, what: str) -> str:
    if isinstance(value, date) and what.startswith("'at'"):
        return value.isoformat()  # a date typed by hand, unquoted
    if not isinstance(value, str):
        raise ConfigError(f"{HOLDS_FILE}: {what} must be a plain string (quote it)")
    return str(value)


def parse_holds(data: bytes | None) -> dict[str, Hold]:
    if not data:
        return {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:  # also a UTF-16 file, which ruamel would read as empty
        raise ConfigError(f"{HOLDS_FILE}: not UTF-8 text (byte {err.start})") from None
    from ruamel.yaml.error import YAMLError

    try:
        _bounded(data)
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
    for key, body in holds.items():
        repo = _text(key, "each key of 'holds' (an image repository)")
        if isinstance(body, str):
            out[repo] = Hold(str(body))
        elif isinstance(body, Mapping):
            fields = {k: _text(body[k], f"'{k}' of the hold of {one_line(repo)}") for k in ("reason", "by", "at")
                      if k in body}
            out[repo] = Hold(fields.get("reason", ""), fields.get("by", ""), fields.get("at", ""))
        else:
            raise ConfigError(f"{HOLDS_FILE}: hold of {one_line(repo)} must be a mapping")
    return out


def read_holds(ws: TreeReader, commit: str) -> dict[str, str]:
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
