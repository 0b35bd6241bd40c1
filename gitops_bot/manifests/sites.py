"""Value objects of the manifest layer: a file (`Manifest`), one scalar of it (`Site`), and an image
reference made of one to three scalars (`ImageRef`)."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from gitops_bot.manifests.nodes import STR_TAG, Path, compose_all
from gitops_bot.model.errors import ManifestError
from gitops_bot.model.images import Version

BOM = "\ufeff"


@dataclass(frozen=True)
class Site:
    """One scalar of a file: where it is in the (BOM-less) text, how it is quoted, what it says."""

    path: Path
    doc: int
    start: int
    end: int
    line: int
    style: str | None  # None (plain), "'" or '"'
    value: str
    source: str = ""  # the scalar's text as written (what `rollback` restores)
    yaml_tag: str = STR_TAG  # what YAML reads it as (`tag: 16` is an int)

    @classmethod
    def from_node(cls, node: yaml.ScalarNode, path: Path, doc: int, text: str = "") -> Site:
        start, end = node.start_mark.index, node.end_mark.index
        return cls(
            path=path,
            doc=doc,
            start=start,
            end=end,
            line=node.start_mark.line + 1,
            style=node.style,
            value=str(node.value),
            source=text[start:end],
            yaml_tag=node.tag,
        )


@dataclass(frozen=True)
class ImageRef:
    """An image reference found in a manifest.

    form: "values" (a {repository, tag} mapping), "string" (a whole `repo:tag` scalar),
    "kustomize" (an images: entry) or "marker-tag" (`$imagepolicy …:tag` and `…:digest` setters).
    `inline_digest`: the tag scalar is written `TAG@sha256:D` (the digest lives in the tag).
    """

    file: str
    kind: str
    name: str
    repository: str
    version: Version
    form: str
    string_site: Site | None = None
    tag_site: Site | None = None
    digest_site: Site | None = None
    policy: str | None = None
    policy_only: bool = False  # a bare `:tag` marker: its repository is unknown
    alt_repository: str | None = None  # kustomize: the `name` an entry rewrites
    policy_namespace: str | None = None  # NAMESPACE of `NAMESPACE:POLICY`
    inline_digest: bool = False
    # kustomize: where a missing `newTag`/`digest` key goes (an empty site at the end of the entry's
    # last line, or before its `}`), and what precedes the key there (newline and indent, or `, `)
    insert_at: Site | None = None
    insert_prefix: str = ""

    @property
    def first_site(self) -> Site:
        site = self.string_site or self.tag_site or self.digest_site or self.insert_at
        assert site is not None
        return site

    @property
    def key(self) -> tuple[str, str, str, Path]:
        """Identifies the reference across commits: file, object and the path of its scalar."""
        return (self.file, self.kind, self.name, self.first_site.path)

    @property
    def line(self) -> int:
        return self.first_site.line


@dataclass(frozen=True)
class Manifest:
    """One YAML file: its decoded text (BOM removed), how to encode it back, and its documents."""

    path: str
    text: str
    bom: bool
    docs: tuple[yaml.Node, ...]
    # A Helm values file: (kind, name) of what reads it; its documents are values (docs/image-references.md)
    values_for: tuple[str, str] | None = None

    @classmethod
    def parse(cls, path: str, data: bytes) -> Manifest:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data[: err.start].count(b"\n") + 1
            raise ManifestError(f"{path}:{line}: not UTF-8 text") from None
        bom = text.startswith(BOM)
        if bom:
            text = text[1:]
        return cls(path, text, bom, tuple(compose_all(text, path)))

    def encode(self, text: str) -> bytes:
        return ((BOM if self.bom else "") + text).encode("utf-8")
