"""Which files of a tree are YAML manifests, and which are kustomizations (one rule for every command)."""

from __future__ import annotations

from pathlib import PurePosixPath

# The names kustomize looks for in a folder, in its order (kustomize's own list).
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
YAML_SUFFIXES = (".yaml", ".yml")


def is_kustomization(path: str) -> bool:
    """Is this file a kustomization (`kustomization.yaml`, `kustomization.yml` or `Kustomization`)?"""
    return PurePosixPath(path).name in KUSTOMIZATION_FILES


def is_manifest_file(path: str) -> bool:
    """Is this file read as YAML: `*.yaml`, `*.yml`, or a `Kustomization` without an extension?"""
    return path.endswith(YAML_SUFFIXES) or is_kustomization(path)
