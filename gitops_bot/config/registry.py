"""The `registry:` and `policies:` sections of `.gitops-bot.yaml`, validated strictly.

```yaml
registry:
  verify: false        # check every target image:tag exists before writing
  pin-digest: false    # write the tag's digest too
policies:              # for `reconcile`: Flux ImagePolicy semantics (docs/registry.md)
  kai-api-server:
    filter-tags: {pattern: '^main-[0-9a-f]{7}-(?P<ts>[0-9]+)$', extract: '$ts'}
    numerical: {order: asc}
  bitnami/redis:
    semver: {range: '7.2.x'}
```
Errors name the key (`policies.kai-api-server.numerical.order`) and raise ConfigError (exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from gitops_bot.model.errors import ConfigError

if TYPE_CHECKING:  # loaded by parse_policy: reading a config without policies needs no semver
    from gitops_bot.model.policy import Policy

ORDERINGS = ("semver", "alphabetical", "numerical")


class RegistrySettings(NamedTuple):
    verify: bool = False
    pin_digest: bool = False


def _mapping(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"config key {where!r} must be a mapping")
    for key in value:
        if key not in allowed:
            raise ConfigError(f"unknown config key '{where}.{key}'")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"config key {where!r} must be a non-empty string")
    return value


def parse_registry(raw: Any) -> RegistrySettings:
    if raw is None:
        return RegistrySettings()
    body = _mapping(raw, "registry", ("verify", "pin-digest"))
    for key in body:
        if not isinstance(body[key], bool):
            raise ConfigError(f"config key 'registry.{key}' must be true or false")
    return RegistrySettings(verify=body.get("verify", False), pin_digest=body.get("pin-digest", False))


def parse_policy(name: str, raw: Any, where: str) -> Policy:
    from gitops_bot.model.policy import Policy, TagFilter

    body = _mapping(raw, where, (*ORDERINGS, "filter-tags"))
    kinds = [k for k in ORDERINGS if k in body]
    if len(kinds) != 1:
        raise ConfigError(f"config key {where!r} needs exactly one of semver, alphabetical or numerical"
                          + (f" (has {', '.join(kinds)})" if kinds else ""))
    kind = kinds[0]
    spec = _mapping(body[kind] if body[kind] is not None else {}, f"{where}.{kind}",
                    ("range",) if kind == "semver" else ("order",))
    tag_filter = None
    if "filter-tags" in body:
        ft = _mapping(body["filter-tags"], f"{where}.filter-tags", ("pattern", "extract"))
        if "pattern" not in ft:
            raise ConfigError(f"config key '{where}.filter-tags.pattern' is missing")
        extract = ft.get("extract", "")
        if extract != "":
            extract = _text(extract, f"{where}.filter-tags.extract")
        tag_filter = TagFilter(_text(ft["pattern"], f"{where}.filter-tags.pattern"), extract)
    if kind == "semver":
        if "range" not in spec:
            raise ConfigError(f"config key '{where}.semver.range' is missing")
        policy = Policy(name, kind, range=_text(spec["range"], f"{where}.semver.range"), filter=tag_filter)
    else:
        order = spec.get("order", "asc")
        if order not in ("asc", "desc"):
            raise ConfigError(f"config key '{where}.{kind}.order' must be asc or desc")
        policy = Policy(name, kind, order=order, filter=tag_filter)
    policy.check(where)
    return policy


def parse_policies(raw: Any) -> Mapping[str, Policy]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("config key 'policies' must map image names to policies")
    return {str(name): parse_policy(str(name), body, f"policies.{name}") for name, body in raw.items()}
