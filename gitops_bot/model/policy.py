"""Image policies with Flux ImagePolicy semantics: which registry tag is the newest one allowed.

- `filter-tags.pattern` keeps the tags the regular expression finds (unanchored, as Go's
  `MatchString`); `extract` (`$name`, `${name}`, `$1`) turns each kept tag into the value the policy
  orders; tags are reported as themselves;
- `semver.range`: the highest version in the range (docs of `semrange`);
- `alphabetical.order`: `asc` (default) picks the last in byte order, `desc` the first;
- `numerical.order`: `asc` (default) picks the largest number, `desc` the smallest; a kept value
  that is not a number fails the policy, as in Flux;
- tags matching the ImageRepository's `exclusionList` (default `^.*\\.sig$`, cosign signatures) are
  never candidates.

Patterns run on RE2 (`google-re2`), the engine Go's `regexp` implements, so a pattern means what it
means to Flux and no pattern can make matching slow: the time is linear in the tag's length, where
Python's backtracking `re` can take exponential time on a pattern such as `(a+)+$`, and these
patterns come from the environment's branch (docs/decisions/0007-re2-for-policy-patterns.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import semver

from gitops_bot.model.errors import ConfigError
from gitops_bot.model.semrange import Range, parse_version

DEFAULT_EXCLUSIONS = (r"^.*\.sig$",)
ORDERS = ("asc", "desc")
_EXPAND = re.compile(r"\$(?:\$|\{(?P<braced>[A-Za-z0-9_]+)\}|(?P<plain>[A-Za-z0-9_]+))")


class PolicyFailed(Exception):
    """The tags exist but the policy cannot order them (Flux reports the same as a failed policy)."""


class Match(Protocol):
    def group(self, name: int | str, /) -> str | None: ...


class Regexp(Protocol):
    groups: int
    groupindex: Mapping[str, int]

    def search(self, text: str) -> Match | None: ...


def go_regexp(pattern: str, where: str) -> Regexp:
    """A pattern compiled as Go's `regexp` (RE2) compiles it; invalid RE2 (backreferences,
    look-around) is a ConfigError naming `where`, as Flux refuses it too."""
    import re2  # loaded by the commands that order tags only

    options = re2.Options()
    options.log_errors = False  # the error is ours to report, in one line, not RE2's on stderr
    try:
        compiled: Any = re2.compile(pattern, options=options)
    except re2.error as err:
        reason = err.args[0].decode(errors="replace") if err.args and isinstance(err.args[0], bytes) else str(err)
        raise ConfigError(f"{where}: invalid regular expression {pattern!r}: {reason}") from None
    return compiled  # type: ignore[no-any-return]


def expand(template: str, match: Match) -> str:
    """Go's `Regexp.ExpandString`: `$name`/`${name}`/`$1` become that group, `$$` a `$`."""

    def one(m: re.Match[str]) -> str:
        name = m["braced"] or m["plain"]
        if name is None:
            return "$"
        try:
            group = match.group(int(name)) if name.isdigit() else match.group(name)
        except IndexError:  # no such group: empty, as in Go
            group = None
        return group or ""

    return _EXPAND.sub(one, template)



@dataclass(frozen=True)
class TagFilter:
    pattern: str
    extract: str = ""

    def compiled(self) -> Regexp:
        return go_regexp(self.pattern, "filter-tags.pattern")

    def check(self, where: str) -> None:
        regex = go_regexp(self.pattern, f"config key '{where}.pattern'")
        for m in _EXPAND.finditer(self.extract):
            name = m["braced"] or m["plain"]
            if name is None:
                continue
            known = name in regex.groupindex or (name.isdigit() and int(name) <= regex.groups)
            if not known:
                raise ConfigError(f"config key '{where}.extract' names ${name}, which is not a group of the pattern")


@dataclass(frozen=True)
class Policy:
    """One image's policy: exactly one ordering, an optional tag filter, and exclusions."""

    name: str  # the config key, or NAMESPACE:NAME of the Flux ImagePolicy
    kind: str  # semver | alphabetical | numerical
    range: str = ""
    order: str = "asc"
    filter: TagFilter | None = None
    exclusions: tuple[str, ...] = DEFAULT_EXCLUSIONS
    image: str | None = None  # the repository, when the policy says it (Flux ImageRepository)

    def describe(self) -> str:
        how = f"semver {self.range}" if self.kind == "semver" else f"{self.kind} {self.order}"
        return f"{how}, tags matching {self.filter.pattern}" if self.filter else how

    def check(self, where: str) -> None:
        if self.kind == "semver":
            try:
                Range.parse(self.range)
            except ConfigError as err:
                raise ConfigError(f"config key '{where}.semver.range': {err}") from None
        elif self.order not in ORDERS:
            raise ConfigError(f"{where}.{self.kind}.order must be asc or desc")
        if self.filter is not None:
            self.filter.check(f"{where}.filter-tags")
        for pattern in self.exclusions:
            go_regexp(pattern, f"{where} exclusionList")

    def candidates(self, tags: Iterable[str]) -> list[tuple[str, str]]:
        """(tag, value to order) for every tag that passes the exclusions and the filter."""
        excluded = [go_regexp(p, "exclusionList") for p in self.exclusions]
        regex = self.filter.compiled() if self.filter else None
        out: dict[str, str] = {}  # value -> tag; as in Flux, a later tag with the same value wins
        for tag in tags:
            if any(x.search(tag) for x in excluded):
                continue
            value = tag
            if regex is not None:
                m = regex.search(tag)
                if m is None:
                    continue
                if self.filter is not None and self.filter.extract:
                    value = expand(self.filter.extract, m)
            out[value] = tag
        return [(tag, value) for value, tag in out.items()]

    def latest(self, tags: Sequence[str]) -> str | None:
        """The newest tag the policy allows, or None when none passes; PolicyFailed if unorderable."""
        found = self.candidates(tags)
        if not found:
            return None
        if self.kind == "semver":
            allowed = Range.parse(self.range)
            best: tuple[semver.Version, str] | None = None
            for tag, value in found:
                v = parse_version(value)
                if v is not None and allowed.holds(v) and (best is None or v.compare(best[0]) > 0):
                    best = (v, tag)
            return best[1] if best else None
        if self.kind == "alphabetical":
            ordered = sorted(found, key=lambda tv: tv[1].encode())
            return (ordered[-1] if self.order == "asc" else ordered[0])[0]
        numbers = []
        for tag, value in found:
            try:
                number = float(value) if "_" not in value else math.nan  # Go's ParseFloat: no `1_000`
            except ValueError:
                number = math.nan
            if math.isnan(number):
                raise PolicyFailed(f"tag {tag!r} gives {value!r}, which is not a number")
            numbers.append((number, tag))
        numbers.sort()
        return (numbers[-1] if self.order == "asc" else numbers[0])[1]


def is_downgrade(current: str | None, chosen: str) -> bool:
    """A semver policy never moves an image to a lower version than the one it has."""
    old, new = parse_version(current or ""), parse_version(chosen)
    return old is not None and new is not None and new.compare(old) < 0
