"""Classifiers for guardrail: one shared sentence encoder, small trained heads, lexicons.

Import the submodules you need (``classifiers.encoder``, ``classifiers.lexicons``,
``classifiers.self_harm``); this package's import loads neither torch nor transformers.
"""

from classifiers import torchless

# Before any submodule imports spaCy or Presidio: both would import torch for nothing.
torchless.install()
