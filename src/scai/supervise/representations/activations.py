"""Hidden states of a transformers checkpoint: for each text, each layer's state averaged over
the text's tokens (the embedding output is layer 0, then one per transformer block)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def load_model(name: str) -> tuple[Any, Any]:
    """(model, tokenizer) of an `hf:` model string or checkpoint directory (`hf:local`,
    `hf:local:gemma-270m`, `hf:PATH`); never downloads."""
    from scai.llm.checkpoints import require_torch, resolve_base

    require_torch()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from scai.logs import quiet_transformers

    quiet_transformers()
    path = resolve_base(name)
    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
    model.eval()
    return model, tok


def hidden_states(model: Any, tok: Any, texts: Sequence[str], *, batch_size: int = 16
                  ) -> np.ndarray:
    """(layers + 1, len(texts), hidden) float64: each text's token-mean state per layer."""
    import torch

    out: list[np.ndarray] = []
    tok.padding_side = "right"
    for start in range(0, len(texts), batch_size):
        batch = list(texts[start:start + batch_size])
        enc = tok(batch, return_tensors="pt", padding=True, truncation=True, max_length=128)
        with torch.no_grad():
            states = model(**enc, output_hidden_states=True).hidden_states
        mask = enc["attention_mask"].unsqueeze(-1).to(states[0].dtype)
        means = [(h * mask).sum(1) / mask.sum(1) for h in states]  # (batch, hidden) per layer
        out.append(torch.stack(means).double().numpy())
    return np.concatenate(out, axis=1)
