"""`kind: cai` configs: the constitution, which prompts, how to generate and how to train."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from scai.cai.evaluate import EvalSettings
from scai.cai.rubrics import profile_counts
from scai.cai.train import TrainSettings
from scai.config import ConfigModel, resolve_path
from scai.llm import ModelSettings
from scai.llm.spec import ModelSpec

#: The models a CAI run trains, by the name its tables give them.
TRAINED = ("base", "sft0", "sft", "dpo")


class GenerateSettings(ConfigModel):
    """Critique/revision data generation."""

    red_team: int = Field(8, ge=0, le=100_000, description="Red-team training prompts used.")
    helpful: int = Field(4, ge=0, le=100_000, description="Helpful training prompts used.")
    rounds: int = Field(1, ge=1, le=16, description="Critique/revision rounds per answer.")
    samples: int = Field(1, ge=1, le=64, description="Answers (chains) per prompt.")
    eval_fraction: float = Field(0.3, gt=0.0, lt=1.0,
                                 description="Share of each prompt set held out for evaluation.")
    temperature: float = Field(0.7, ge=0.0, le=5.0)
    max_tokens: int = Field(128, ge=8, le=8192)
    repeat_penalty: float = Field(1.2, ge=0.5, le=3.0)
    fewshot: bool = Field(False, description="Open every answer, critique and revision with the "
                          "worked examples of prompts.yaml (fewshot_answer, fewshot_revision): "
                          "what a base model, or one after stage 0 only, needs to follow them.")


class Stage0Settings(ConfigModel):
    """Stage 0, for a base model: SFT on demonstrations (`sft0/`) before critique/revision, so
    the model can answer a request and follow a critique request at all. Off when steps is 0."""

    steps: int = Field(0, ge=0, le=100_000,
                       description="SFT steps on the demonstrations; 0: no stage 0 (a chat "
                       "model needs none).")
    learning_rate: float = Field(2e-4, gt=0, le=1.0, description="Stage-0 learning rate (LoRA "
                                 "suits ~1e-4 to 5e-4; full weights ~2e-5).")
    max_length: int = Field(192, ge=16, le=32768, description="Tokens per demonstration: long "
                            "enough that the shipped ones keep their EOS, so the model learns "
                            "to stop.")
    demonstrations: Path | None = Field(None, description="JSONL of {id, prompt, reply} (default: "
                                        "the shipped scai/data/cai/demonstrations.jsonl).")
    generator: Literal["sft0", "model"] = Field(
        "sft0", description="Who answers, critiques and revises when stage 0 runs: the stage-0 "
        "model (hf:OUT/sft0), or `model` as configured. SFT continues from the stage-0 model "
        "either way.")

    _paths = field_validator("demonstrations")(resolve_path)

    @field_validator("demonstrations")
    @classmethod
    def _exists(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_file():
            raise ValueError(f"{v}: no such file (JSONL of {{id, prompt, reply}})")
        return v


class CaiConfig(ConfigModel):
    """Constitutional AI: generate critique/revision data with `model`, then SFT and DPO."""

    kind: Literal["cai"] = "cai"
    name: str | None = None
    seed: int = 0
    constitution: Path | None = Field(None, description="Principles YAML (default: the shipped 18).")
    constitution_from: str | None = Field(
        None, description="Use the constitution learned by this Social Contract run (id, prefix "
        "or 'latest' in the run store) instead of `constitution`.")
    red_team_file: Path | None = Field(None, description="Red-team prompts (CSV/JSONL, public "
                                       "formats accepted); default: the shipped set.")
    model: ModelSettings = Field(default_factory=ModelSettings,
                                 description="The model that answers, critiques and revises.")
    generate: GenerateSettings = Field(default_factory=GenerateSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)
    stage0: Stage0Settings = Field(default_factory=Stage0Settings)
    evaluate: EvalSettings = Field(default_factory=EvalSettings)
    compare: dict[str, str] = Field(
        default_factory=dict, description="More models evaluated beside the trained ones, by "
        "name, on the same prompts, seeds and stops: e.g. {instruct: 'hf:local'}.")

    _paths = field_validator("constitution", "red_team_file")(resolve_path)

    @field_validator("compare")
    @classmethod
    def _compared(cls, v: dict[str, str]) -> dict[str, str]:
        for name, model in v.items():
            if name in TRAINED:
                raise ValueError(f"{name!r} names a trained model; pick another name")
            ModelSpec.parse(model)
        return v


# Profiles are overrides applied before the user's --set values; how many prompts each rubric
# judges under a profile comes from its entry in scai/data/cai/rubrics.yaml.
_PROFILE_SETTINGS: dict[str, list[str]] = {
    # 2 CPU cores, well under 15 minutes for one seed.
    "quick": ["generate.red_team=8", "generate.helpful=4", "generate.rounds=1",
              "generate.samples=1", "generate.max_tokens=96", "train.sft_steps=8",
              "train.dpo_steps=6", "train.batch_size=4", "train.max_length=128",
              "evaluate.samples=2", "evaluate.max_tokens=64"],
    # The scale of the published replication (4 rounds, hundreds of steps): meant for a GPU.
    "full": ["generate.red_team=100000", "generate.helpful=100000", "generate.rounds=4",
             "generate.samples=2", "generate.max_tokens=256", "train.sft_steps=300",
             "train.dpo_steps=300", "train.batch_size=8", "train.max_length=512",
             "evaluate.samples=4", "evaluate.max_tokens=256"],
}
PROFILES: dict[str, list[str]] = {
    name: [*settings, *(f"evaluate.{k}={n}" for k, n in profile_counts(name).items())]
    for name, settings in _PROFILE_SETTINGS.items()
}


def profile_overrides(profile: str | None) -> list[str]:
    """The overrides a profile stands for ([] for none); ConfigError naming the known ones."""
    if profile is None:
        return []
    if profile not in PROFILES:
        from scai.errors import ConfigError

        raise ConfigError(f"--profile {profile!r}: one of {', '.join(PROFILES)}")
    return PROFILES[profile]
