"""Seeding a drift run's trait before round 0 and reading it each round (drift/trait.py has the
trait file and the measures; run.py calls these)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from scai.supervise.drift.config import DriftConfig
from scai.supervise.drift.trait import (
    TraitReading,
    answering_states,
    behaviour,
    load_trait,
    retained_shift,
)


def seed_trait(cfg: DriftConfig, base: Path, out: Path, progress: bool) -> Path:
    """`base` fine-tuned on the trait's demonstrations (`out/model/seed`): round 0's model. A
    rerun finds it (`out/seed.json`, written last)."""
    done = out / "seed.json"
    if done.is_file():
        return Path(json.loads(done.read_text(encoding="utf-8"))["checkpoint"])
    from scai.cai.demos import as_sft, load_demonstrations
    from scai.cai.train import train_sft, write_training_log

    assert cfg.trait is not None
    trait = load_trait(cfg.trait.file)
    settings = cfg.train.model_copy(update={"sft_steps": cfg.trait.steps,
                                            "sft_learning_rate": cfg.trait.learning_rate})
    stage = train_sft(base, as_sft(load_demonstrations(trait.demonstrations)), settings,
                      out / "model", seed=cfg.seed, progress=progress, stage="seed")
    write_training_log([stage], out / "model")
    last = stage.steps[-1].values if stage.steps else {}
    done.write_text(json.dumps({"trait": trait.name, "checkpoint": stage.checkpoint,
                                "steps": cfg.trait.steps, "seconds": round(stage.seconds, 1),
                                "final": last}, indent=2) + "\n", encoding="utf-8")
    return Path(stage.checkpoint)


def read_trait(cfg: DriftConfig, k: int, models: tuple[str, str, str], texts: list[str],
               prompts: list[str], out_dir: Path) -> TraitReading:
    """Round k's reading; `models` are (the base before seeding, round 0, round k), `texts`
    round k's probe answers, `prompts` the probes whose hidden states are compared."""
    assert cfg.trait is not None
    trait = load_trait(cfg.trait.file)
    k_with, rate = behaviour(texts, trait)
    base, seeded, current = models
    where = {base: "seed", seeded: "round-0"}

    def states(model: str) -> np.ndarray:
        folder = where.get(model, f"round-{k}")
        return answering_states(model, prompts, out_dir / folder / "trait-states.npy")

    layers, kept = retained_shift(states(base), states(seeded), states(current), seed=cfg.seed)
    return TraitReading(trait=trait.name, answers=len(texts), with_marker=k_with, rate=rate,
                        retained=kept, retained_by_layer=layers)
