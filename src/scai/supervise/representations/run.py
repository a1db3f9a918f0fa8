"""`compare_models`: two checkpoints' hidden states on the probes and the concept pairs,
compared layer by layer (scai.supervise.representations.compare)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from scai.errors import ConfigError
from scai.progress import progress_bar
from scai.supervise.representations.activations import hidden_states, load_model
from scai.supervise.representations.compare import cka_interval, direction_drift, linear_cka
from scai.supervise.representations.concepts import ConceptSet, load_concepts
from scai.supervise.representations.result import ConceptLayer, LayerCka, ReprDiff

Loaded = tuple[Any, Any]  # (model, tokenizer)


def _states(model: Loaded, probes: list[str], concepts: ConceptSet
            ) -> tuple[np.ndarray, dict[str, tuple[np.ndarray, np.ndarray]]]:
    m, tok = model
    probe_states = hidden_states(m, tok, probes)
    pairs = {}
    for name, c in concepts.concepts.items():
        pos = hidden_states(m, tok, [p.positive for p in c.pairs])
        neg = hidden_states(m, tok, [p.negative for p in c.pairs])
        pairs[name] = (pos, neg)
    return probe_states, pairs


def compare_models(a: str | Loaded, b: str | Loaded, *, probes: list[str],
                   concepts: ConceptSet | None = None, out_dir: Path | None = None,
                   seed: int = 0, progress: bool = True, names: tuple[str, str] | None = None
                   ) -> ReprDiff:
    """A against B: model strings (`hf:...`) or already loaded (model, tokenizer) pairs (a
    test's deliberately changed copy). Writes repr.json and repr.png into `out_dir`."""
    if len(probes) < 4:
        raise ConfigError(f"repr-diff: need at least 4 probes, got {len(probes)}")
    concepts = concepts or load_concepts()
    label_a, label_b = names or (a if isinstance(a, str) else "A", b if isinstance(b, str) else "B")
    start = time.perf_counter()
    with progress_bar("representations" if progress else None, total=3) as advance:
        model_a = load_model(a) if isinstance(a, str) else a
        probes_a, pairs_a = _states(model_a, probes, concepts)
        single = np.concatenate([hidden_states(*model_a, [t], batch_size=1) for t in probes],
                                axis=1)  # the numerical floor
        advance(1)
        model_b = model_a if b == a else (load_model(b) if isinstance(b, str) else b)
        probes_b, pairs_b = _states(model_b, probes, concepts)
        advance(1)
        if probes_a.shape[0] != probes_b.shape[0] or probes_a.shape[2] != probes_b.shape[2]:
            raise ConfigError(f"repr-diff: {label_a} and {label_b} differ in shape "
                              f"({probes_a.shape[0] - 1} vs {probes_b.shape[0] - 1} layers, "
                              f"{probes_a.shape[2]} vs {probes_b.shape[2]} dims): compare "
                              "checkpoints of one architecture")
        layers = []
        for k in range(probes_a.shape[0]):
            lo, hi = cka_interval(probes_a[k], probes_b[k], seed)
            floor = max(0.0, 1.0 - linear_cka(probes_a[k], single[k]))
            layers.append(LayerCka(layer=k, cka=linear_cka(probes_a[k], probes_b[k]), low=lo,
                                   high=hi, floor=floor, drift=(1.0 - hi) > floor))
        rows = [ConceptLayer(concept=name, layer=k, **direction_drift(
                    pairs_a[name][0][k], pairs_a[name][1][k], pairs_b[name][0][k],
                    pairs_b[name][1][k], seed))
                for name in concepts.concepts for k in range(probes_a.shape[0])]
        advance(1)
    result = ReprDiff(a=label_a, b=label_b, probes=len(probes),
                      pairs={n: len(c.pairs) for n, c in concepts.concepts.items()},
                      layers=layers, concepts=rows, seconds=round(time.perf_counter() - start, 2))
    if out_dir is not None:
        from scai.supervise.representations.outputs import write_outputs

        write_outputs(result, Path(out_dir))
    return result

