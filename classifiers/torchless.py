"""PII detection without torch: spaCy's thinc and Presidio import it whenever it is installed.

``thinc.compat`` (spaCy's ML library) runs ``import torch`` only to learn whether torch is
there; Presidio imports torch to pick a device and ``transformers`` for transformer NER
engines we do not use. The small CPU pipelines the PII detector loads never touch either,
yet those imports cost each serving worker over a second and about 235 MB (torch and
transformers are installed beside us for the optional MiniLM encoder and the training
scripts). Both libraries guard those imports (``except ImportError``: "not installed").

:func:`install` puts a finder in front of the import system that refuses ``torch`` and
``transformers`` to code of those two packages alone, in the thread executing it, so they
take the path they take on a machine without them. Every other importer, and any thread
importing torch meanwhile, gets the real module; a process that already loaded it is left
alone (the import never reaches a finder).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import FrameType, ModuleType
from typing import Final

REFUSED: Final = frozenset({"torch", "transformers"})
TO: Final = ("thinc.", "presidio_analyzer.")


class _Refuser:
    """A meta path finder that refuses :data:`REFUSED` to code of the packages in :data:`TO`."""

    @staticmethod
    def find_spec(
        name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name not in REFUSED:
            return None
        frame: FrameType | None = sys._getframe(1)
        while frame is not None:
            importer = str(frame.f_globals.get("__name__", ""))
            if importer.startswith(TO):
                raise ModuleNotFoundError(f"{name} is not offered to {importer}", name=name)
            frame = frame.f_back
        return None


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Refuser) for f in sys.meta_path):
        sys.meta_path.insert(0, _Refuser())
