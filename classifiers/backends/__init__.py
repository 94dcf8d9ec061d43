"""Extra classifier backends chosen by configuration: a YAML list, no code changes.

Each entry names a backend ``type`` from ``BACKENDS`` and the files it loads::

    - {name: toxicity, type: detoxify, checkpoint: /models/tox.ckpt,
       huggingface_config_path: /models/tox-config, roles: [bot, user]}
    - {name: emotion, type: hf, path: /models/emotion}

A backend gives ``name``, ``roles`` and ``predict(texts) -> list[dict[label, score]]``; the
stack puts its outputs in ``TextScores.other["<name>.<label>"]``. Adding a backend type is
one module plus one line in ``BACKENDS``. Load errors name the configuration file and the
entry, so an operator can fix the file from the message alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from classifiers.backends.base import Backend, BackendError, Factory


def _hf(entry: Mapping[str, Any], device: str) -> Backend:
    from classifiers.backends.hf import HFBackend

    return HFBackend.from_config(entry, device)


def _detoxify(entry: Mapping[str, Any], device: str) -> Backend:
    from classifiers.backends.detoxify import DetoxifyBackend

    return DetoxifyBackend.from_config(entry, device)


BACKENDS: dict[str, Factory] = {"hf": _hf, "detoxify": _detoxify}
"""Backend types by the ``type`` a config entry names (imported only when used)."""


def build_backend(entry: Mapping[str, Any], device: str = "cpu") -> Backend:
    kind = entry.get("type")
    if kind not in BACKENDS:
        raise BackendError(f"unknown backend type {kind!r}; choose one of {sorted(BACKENDS)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name or "." in name:
        raise BackendError(f"name must be a non-empty string without dots, got {name!r}")
    return BACKENDS[kind](entry, device)


def load_backends(path: Path, device: str = "cpu") -> list[Backend]:
    """The backends a YAML file lists (a list, or a mapping with a ``backends`` list)."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BackendError(f"{path}: {exc}") from exc
    if isinstance(loaded, dict):
        loaded = loaded.get("backends")
    if loaded is None:
        return []
    if not isinstance(loaded, list):
        raise BackendError(f"{path}: expected a list of backends (or backends: [...])")
    out: list[Backend] = []
    names: set[str] = set()
    for i, entry in enumerate(loaded, start=1):
        label = f"{path}: backend {i}"
        if not isinstance(entry, dict):
            raise BackendError(f"{label}: each entry must be a mapping")
        label = f"{label} ({entry.get('name', '?')})"
        try:
            backend = build_backend(entry, device)
        except BackendError as exc:
            raise BackendError(f"{label}: {exc}") from exc
        except Exception as exc:  # a model file that does not load: name it
            raise BackendError(f"{label}: {type(exc).__name__}: {exc}") from exc
        if backend.name in names:
            raise BackendError(f"{label}: duplicate name {backend.name!r}")
        names.add(backend.name)
        out.append(backend)
    return out


__all__ = ["BACKENDS", "Backend", "BackendError", "build_backend", "load_backends"]
