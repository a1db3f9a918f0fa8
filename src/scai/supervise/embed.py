"""Moved to `scai.embed` (the embedder is generic); kept as a re-export for old imports."""

from scai.embed import DIM, EmbeddingUnavailable, cosine_matrix, embed

__all__ = ["DIM", "EmbeddingUnavailable", "cosine_matrix", "embed"]
