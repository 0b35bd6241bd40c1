"""Builders for the test inputs many tests write by hand: a Flux HelmRelease.

The text is the shape the tests always used (block style, two-space indent), so line numbers in
expected messages stay what they were: apiVersion is line 1, `name:` line 4, `spec:` line 5 (6 with
a namespace).
"""

from __future__ import annotations


def helmrelease(name: str, repository: str | None = None, tag: str | None = None, *,
                namespace: str | None = None, registry: str | None = None, digest: str | None = None,
                spec: str = "", values: str = "") -> str:
    """A HelmRelease `name` whose spec.values holds image.{registry, repository, tag, digest} (each
    line only when given, the value written as is: quote it yourself), then `values` (lines indented
    four spaces). `spec` is put before `values:` as is (lines indented two spaces). Without a
    repository the text ends at `  values:` plus `values`, for a test to add its own."""
    lines = ["apiVersion: helm.toolkit.fluxcd.io/v2", "kind: HelmRelease", "metadata:", f"  name: {name}"]
    if namespace is not None:
        lines.append(f"  namespace: {namespace}")
    lines.append("spec:")
    text = "\n".join(lines) + "\n" + spec + "  values:\n"
    if repository is not None:
        image = ["    image:"]
        if registry is not None:
            image.append(f"      registry: {registry}")
        image.append(f"      repository: {repository}")
        if tag is not None:
            image.append(f"      tag: {tag}")
        if digest is not None:
            image.append(f"      digest: {digest}")
        text += "\n".join(image) + "\n"
    return text + values
