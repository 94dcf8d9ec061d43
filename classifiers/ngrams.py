"""Lexical features and head: TF-IDF over word and character n-grams, run in numpy.

Why: a frozen MiniLM loses much of the wording that separates the C-SSRS levels; a linear
model over n-grams keeps it and is cheap. Each message becomes one sparse row (sublinear term
frequency x IDF, L2-normalised per block: word 1-2-grams, then character 2-5-grams inside
word boundaries, each block scaled by 1/sqrt(2)). The head is linear in that row, so the mean
of a user's per-message logits is exactly the head applied to the mean row: user-level
aggregation stays a running sum (``classifiers.self_harm.UserRisk``).

The analyser is ours (not scikit-learn's) so that training and runtime share one code path;
files are safetensors (coefficients, IDF) with the vocabulary as JSON metadata: no pickles.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt
from safetensors.numpy import save_file

from classifiers.heads import FloatArray, HeadFormatError, read_head_file

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

IntArray = npt.NDArray[np.int64]
FORMAT: Final = "guardrail-ngram-head/1"
MAX_CHARS: Final = 20_000
"""Characters of a message that are read (bounds the cost of very long posts)."""
CHAR_NGRAMS: Final = (2, 5)
WORD_PREFIX: Final = "w:"
CHAR_PREFIX: Final = "c:"
_WORD = re.compile(r"(?u)\b\w\w+\b")
_SPACE = re.compile(r"\s+")
_BLOCK_SCALE: Final = 1.0 / math.sqrt(2.0)
_NOT_KEPT: Final = re.compile(r"[\d@]")
_WORD_MEMO: Final = 50_000
"""Words whose character-gram indices a vocabulary keeps (about 10 MB at most)."""


def normalise(text: str) -> str:
    return _SPACE.sub(" ", text[:MAX_CHARS].lower()).strip()


def word_terms(text: str) -> list[str]:
    """Word unigrams and bigrams of a normalised text."""
    words = _WORD.findall(text)
    out = [WORD_PREFIX + w for w in words]
    out += [f"{WORD_PREFIX}{a} {b}" for a, b in itertools.pairwise(words)]
    return out


def char_terms(text: str, sizes: tuple[int, int] = CHAR_NGRAMS) -> list[str]:
    """Character n-grams inside space-padded words (a short word counts once, whole)."""
    return [CHAR_PREFIX + g for word in text.split(" ") if word for g in _word_chars(word, sizes)]


def _word_chars(word: str, sizes: tuple[int, int] = CHAR_NGRAMS) -> list[str]:
    """``char_terms`` of one word, without the prefix, one entry per occurrence."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(sizes[0], sizes[1] + 1):
        if size <= n:
            grams.append(padded)
            break
        grams += [padded[i : i + n] for i in range(size - n + 1)]
    return grams


def _raw_words(text: str) -> list[str]:
    """``word_terms`` without the prefix, one entry per occurrence."""
    words = _WORD.findall(text)
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def terms(text: str) -> tuple[Counter[str], Counter[str]]:
    """Term counts of one text: (word block, character block)."""
    norm = normalise(text)
    return Counter(word_terms(norm)), Counter(char_terms(norm))


@dataclass(frozen=True)
class NgramVocabulary:
    """Terms (``w:`` word n-grams, then ``c:`` character n-grams) and their IDF."""

    terms: tuple[str, ...]
    idf: FloatArray
    index: dict[str, int] = field(init=False, repr=False, compare=False)
    blocks: dict[str, dict[str, int]] = field(init=False, repr=False, compare=False)
    """Per block prefix, the index keyed by the bare term (the per-message lookup)."""
    _word_ids: dict[str, IntArray] = field(init=False, repr=False, compare=False)
    """Character-block term indices per word, memoised: a word's character n-grams do not
    depend on its neighbours, and chat repeats its words. After an encoder pass the
    vocabulary's dict is out of the CPU caches, and one lookup per known word instead of
    about 18 per word is most of this head's per-message cost."""

    def __post_init__(self) -> None:
        if self.idf.shape != (len(self.terms),):
            raise HeadFormatError("one IDF value per term is needed")
        object.__setattr__(self, "index", {t: i for i, t in enumerate(self.terms)})
        blocks = {
            prefix: {t[len(prefix) :]: i for t, i in self.index.items() if t.startswith(prefix)}
            for prefix in (WORD_PREFIX, CHAR_PREFIX)
        }
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "_word_ids", {})

    def __len__(self) -> int:
        return len(self.terms)

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        max_words: int = 20_000,
        max_chars: int = 20_000,
        min_df: int = 2,
    ) -> NgramVocabulary:
        """The most frequent terms (by document frequency) of each block, smooth IDF."""
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            words, chars = terms(text)
            df.update(words.keys())
            df.update(chars.keys())
            n += 1
        kept: list[str] = []
        for prefix, limit in ((WORD_PREFIX, max_words), (CHAR_PREFIX, max_chars)):
            block = [(t, c) for t, c in df.items() if t.startswith(prefix) and c >= min_df]
            block.sort(key=lambda tc: (-tc[1], tc[0]))
            kept += sorted(t for t, _ in block[:limit])
        idf = np.asarray([math.log((1 + n) / (1 + df[t])) + 1.0 for t in kept], dtype=np.float32)
        return cls(tuple(kept), idf)

    def row(self, text: str) -> tuple[IntArray, FloatArray]:
        """One text's sparse row: (term indices, values): sublinear TF x IDF, each block
        L2-normalised and scaled by 1/sqrt(2) (vectorised: this runs per message)."""
        norm = normalise(text)
        get = self.blocks[WORD_PREFIX].get
        words = np.asarray([get(term, -1) for term in _raw_words(norm)], dtype=np.int64)
        chars = [self._char_ids(word) for word in norm.split(" ") if word]
        parts_idx: list[IntArray] = []
        parts_val: list[FloatArray] = []
        for found in (words[words >= 0], np.concatenate(chars) if chars else words[:0]):
            if not len(found):
                continue
            idx, tf = np.unique(found, return_counts=True)
            val = (1.0 + np.log(tf.astype(np.float64))) * self.idf[idx].astype(np.float64)
            val *= _BLOCK_SCALE / np.sqrt(np.dot(val, val))
            parts_idx.append(idx)
            parts_val.append(val.astype(np.float32))
        if not parts_idx:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return np.concatenate(parts_idx), np.concatenate(parts_val)

    def _char_ids(self, word: str) -> IntArray:
        """The known character n-grams of ``word``, as term indices (memoised, bounded; words
        with digits or an ``@`` are not kept)."""
        ids = self._word_ids.get(word)
        if ids is None:
            get = self.blocks[CHAR_PREFIX].get
            found = np.asarray([get(g, -1) for g in _word_chars(word)], dtype=np.int64)
            ids = found[found >= 0]
            if _NOT_KEPT.search(word):
                return ids  # numbers, e-mail addresses: rarely repeated, and kept nowhere
            if len(self._word_ids) >= _WORD_MEMO:
                self._word_ids.clear()  # crude but bounded; chat vocabularies refill it fast
            self._word_ids[word] = ids
        return ids

    def matrix(self, texts: Sequence[str], progress: bool = False) -> csr_matrix:
        """Rows of ``texts`` as a scipy CSR matrix (training and benchmarks)."""
        from scipy.sparse import csr_matrix
        from tqdm.auto import tqdm

        indptr = [0]
        indices: list[IntArray] = []
        values: list[FloatArray] = []
        for text in tqdm(texts, desc="n-grams", disable=not progress):
            i, v = self.row(text)
            indices.append(i)
            values.append(v)
            indptr.append(indptr[-1] + len(i))
        return csr_matrix(
            (
                np.concatenate(values) if values else np.zeros(0, np.float32),
                np.concatenate(indices) if indices else np.zeros(0, np.int64),
                np.asarray(indptr, dtype=np.int64),
            ),
            shape=(len(texts), len(self)),
            dtype=np.float32,
        )


@dataclass(frozen=True)
class NgramHead:
    """Linear head over an n-gram row: ``row @ weight + bias``."""

    vocabulary: NgramVocabulary
    weight: FloatArray
    """Shape (terms, labels)."""
    bias: FloatArray
    labels: tuple[str, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weight.shape != (len(self.vocabulary), len(self.labels)):
            raise HeadFormatError("weight shape is not (terms, labels)")
        if self.bias.shape != (len(self.labels),):
            raise HeadFormatError("one bias per label is needed")

    def logits(self, texts: Sequence[str]) -> FloatArray:
        out = np.tile(self.bias, (len(texts), 1)).astype(np.float32)
        for r, text in enumerate(texts):
            idx, val = self.vocabulary.row(text)
            if len(idx):
                out[r] += val @ self.weight[idx]
        return out

    def n_parameters(self) -> int:
        return int(self.weight.size + self.bias.size)

    def save(self, path: Path) -> None:
        tensors: dict[str, npt.NDArray[Any]] = {
            "weight": np.ascontiguousarray(self.weight, dtype=np.float16),
            "bias": np.ascontiguousarray(self.bias, dtype=np.float32),
            "idf": np.ascontiguousarray(self.vocabulary.idf, dtype=np.float32),
        }
        meta = {
            "format": FORMAT,
            "labels": json.dumps(list(self.labels)),
            "terms": json.dumps(list(self.vocabulary.terms), ensure_ascii=False),
            "char_ngrams": json.dumps(list(CHAR_NGRAMS)),
            "max_chars": str(MAX_CHARS),
            "metadata": json.dumps(self.metadata, sort_keys=True),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path: Path) -> NgramHead:
        tensors, meta = read_head_file(path, FORMAT, "n-gram head")
        if (
            json.loads(meta.get("char_ngrams", "[]")) != list(CHAR_NGRAMS)
            or int(meta.get("max_chars", "0")) != MAX_CHARS
        ):
            raise HeadFormatError(f"{path.name}: analyser settings differ from this code's")
        try:
            vocab = NgramVocabulary(tuple(json.loads(meta["terms"])), tensors["idf"])
            return cls(
                vocabulary=vocab,
                weight=tensors["weight"].astype(np.float32),
                bias=tensors["bias"].astype(np.float32),
                labels=tuple(json.loads(meta["labels"])),
                metadata=json.loads(meta.get("metadata", "{}")),
            )
        except KeyError as exc:
            raise HeadFormatError(f"{path.name}: missing {exc}") from None
