"""What every configured backend is, and the checks their loaders share."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from classifiers.results import Role


class BackendError(ValueError):
    """A backend configuration or its model files could not be loaded."""


@runtime_checkable
class Backend(Protocol):
    name: str
    roles: frozenset[Role]

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]: ...


Factory = Callable[[Mapping[str, Any], str], Backend]
"""Builds a backend from one config entry, on a torch device name."""


ALL_ROLES: frozenset[Role] = frozenset(("user", "bot"))


def parse_roles(entry: Mapping[str, Any]) -> frozenset[Role]:
    roles = entry.get("roles", ["user", "bot"])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not roles or not set(roles) <= ALL_ROLES:
        raise BackendError(f"roles must be a non-empty list of user/bot, got {roles!r}")
    return frozenset(roles)


def require_path(entry: Mapping[str, Any], key: str, *, folder: bool) -> Path:
    """``entry[key]`` as an existing file (or folder), else a BackendError naming it."""
    value = entry.get(key)
    if not isinstance(value, str | Path) or not str(value):
        raise BackendError(f"{key!r} is required (a {'folder' if folder else 'file'} path)")
    path = Path(value).expanduser()
    if not (path.is_dir() if folder else path.is_file()):
        raise BackendError(f"{key}: {path} is not an existing {'folder' if folder else 'file'}")
    return path


def local_model_folder(folder: Path | str) -> Path:
    """``folder`` when it holds a model's ``config.json``, else a BackendError.

    transformers' ``from_pretrained`` takes a hub name wherever it takes a folder: a
    string that is not a folder here would be looked up by name (in the hub cache, or
    online). The loaders call this first, so a model loads from a local path or not at all.
    """
    path = Path(folder).expanduser()
    if not (path / "config.json").is_file():
        raise BackendError(f"{path} is not a local model folder (no config.json)")
    return path
