"""Embedding models for the knowledge base: the built-in `hashing` model, or any Pydantic AI embedding model.

`hashing` (or `hashing:<dimensions>`, 256 by default) needs no weights, no network and no randomness: each word
and each character trigram of the text is hashed (BLAKE2b) to one of the vector's positions with a sign, the
counts are dampened (log) and the vector normalised. Texts that share words and word pieces are close. It is
lexical similarity, not semantic: "refund" is near "refunds" and "refunded", but not near "money back". It makes
the hybrid search path work, and testable, offline; a real embedding model (`openai:text-embedding-3-small`, …)
gives meaning-based matches.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from functools import cache

from pydantic_ai.embeddings import Embedder, EmbeddingModel, EmbeddingResult, infer_embedding_model
from pydantic_ai.embeddings.result import EmbedInputType
from pydantic_ai.embeddings.settings import EmbeddingSettings
from pydantic_ai.usage import RequestUsage

HASHING = "hashing"
HASHING_DIMENSIONS = 256
_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbeddingModel(EmbeddingModel):
    """Feature hashing of words and character trigrams: deterministic, offline, lexical (see the module)."""

    def __init__(self, dimensions: int = HASHING_DIMENSIONS) -> None:
        super().__init__()
        self.dimensions = dimensions

    @property
    def model_name(self) -> str:
        return f"{HASHING}:{self.dimensions}"

    @property
    def system(self) -> str:
        return "switchboard"

    async def embed(
        self, inputs: str | Sequence[str], *, input_type: EmbedInputType, settings: EmbeddingSettings | None = None
    ) -> EmbeddingResult:
        texts, _ = self.prepare_embed(inputs, settings)
        return EmbeddingResult(
            embeddings=[self.vector(text) for text in texts],
            inputs=texts,
            input_type=input_type,
            usage=RequestUsage(),
            model_name=self.model_name,
            provider_name=self.system,
        )

    def vector(self, text: str) -> list[float]:
        counts = [0.0] * self.dimensions
        for feature in _features(text):
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            value = int.from_bytes(digest, "big")
            counts[value % self.dimensions] += 1.0 if value >> 63 else -1.0
        dampened = [math.copysign(math.log1p(abs(count)), count) for count in counts]
        norm = math.sqrt(sum(value * value for value in dampened))
        return [value / norm for value in dampened] if norm else dampened


def _features(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    grams = [f"#{word[i : i + 3]}" for word in words for i in range(max(len(word) - 2, 1))]
    return [*words, *grams]


def check_model_name(name: str) -> None:
    """ValueError unless `name` is `hashing`, `hashing:<dimensions>` or `provider:model`."""
    if name == HASHING or name.startswith(HASHING + ":"):
        _hashing_dimensions(name)
    elif ":" not in name:
        raise ValueError(f"embedding model {name!r}: use 'hashing' or a Pydantic AI 'provider:model' string")


def _hashing_dimensions(name: str) -> int:
    _, _, given = name.partition(":")
    if not given:
        return HASHING_DIMENSIONS
    if not given.isdigit() or not 16 <= int(given) <= 4096:
        raise ValueError(f"embedding model {name!r}: hashing dimensions must be a number from 16 to 4096")
    return int(given)


@cache
def embedder(name: str) -> Embedder:
    """The embedder for a model name as stored with the vectors (one per process and name: clients are reused)."""
    check_model_name(name)
    model: EmbeddingModel
    if name == HASHING or name.startswith(HASHING + ":"):
        model = HashingEmbeddingModel(_hashing_dimensions(name))
    else:
        model = infer_embedding_model(name)
    return Embedder(model)


def stored_name(name: str) -> str:
    """The name vectors are stored under: `hashing` is stored with its dimensions, so `hashing` and
    `hashing:256` are one model and another size is another."""
    if name == HASHING or name.startswith(HASHING + ":"):
        return f"{HASHING}:{_hashing_dimensions(name)}"
    return name


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form, `[0.1,0.2,…]`, for a query parameter cast to `vector`."""
    return "[" + ",".join(repr(float(value)) for value in vector) + "]"
