"""SFT then DPO with TRL on a transformers checkpoint, per-step logs as CSV and a plot.

The base is any transformers checkpoint directory, `local` for the bundled SmolLM2-135M-Instruct or
`local:gemma-270m` for the Gemma 3 270M base model (each converted once from its GGUF). A
checkpoint prompted as a completion model (a base model: scai.llm.checkpoints) is trained on the
token sequences it sees when it answers: the transcript prompt, then the reply and EOS, tokenized
apart so that the prompt's final "Assistant: " is kept exactly. With LoRA (PEFT) the DPO reference is the policy with its adapter
off; without it the reference is a separate frozen copy of the SFT model. Either way the
reference is fingerprinted before and after DPO and a run refuses to report if it moved.
Checkpoints are saved merged, so `hf:PATH` loads them anywhere a model is named.
"""

from __future__ import annotations

import csv
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_serializer

from scai.cai.generate import PreferencePair, SFTExample
from scai.config import ConfigModel
from scai.errors import ModelUnavailable, ScaiError
from scai.llm.checkpoints import Prompting, checkpoint_prompting, mark_prompting
from scai.llm.types import Message
from scai.progress import progress_bar

# Keys TRL logs per step that a reader of a DPO run wants, renamed to CSV-friendly columns.
_LOGGED = {
    "loss": "loss", "grad_norm": "grad_norm", "learning_rate": "learning_rate",
    "rewards/chosen": "reward_chosen", "rewards/rejected": "reward_rejected",
    "rewards/margins": "reward_margin", "rewards/accuracies": "reward_accuracy",
    "mean_token_accuracy": "token_accuracy",
}


class TrainSettings(ConfigModel):
    """How SFT and DPO train. The defaults suit a 135M model on a CPU (the `quick` profile)."""

    base_model: str = Field("local", description="'local' (bundled SmolLM2-135M-Instruct), "
                            "'local:gemma-270m' (Gemma 3 270M base) or a checkpoint dir.")
    sft_steps: int = Field(8, ge=0, le=100_000)
    dpo_steps: int = Field(6, ge=0, le=100_000)
    batch_size: int = Field(4, ge=1, le=1024)
    sft_learning_rate: float = Field(2e-5, gt=0, le=1.0)
    dpo_learning_rate: float = Field(5e-6, gt=0, le=1.0)
    beta: float = Field(0.1, gt=0, le=10.0, description="DPO temperature on the reward margin.")
    max_length: int = Field(128, ge=16, le=32768, description="Tokens per example (truncated).")
    lora: bool = Field(False, description="Train LoRA adapters (PEFT) instead of all weights.")
    lora_r: int = Field(8, ge=1, le=1024)
    lora_alpha: int = Field(16, ge=1, le=4096)
    report_to: list[Literal["tensorboard", "wandb"]] = Field(
        default_factory=list, description="Trackers TRL reports every step to (needs "
        "scai[tracking] or wandb); TensorBoard files go to OUT/logs/<stage> beside the checkpoints.")

    @model_serializer(mode="wrap")
    def _dump(self, handler: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        data = handler(self)
        if not self.report_to:  # a config without trackers dumps (and hashes) as before
            data.pop("report_to", None)
        return data


class StepRecord(BaseModel):
    """One optimiser step as TRL logged it."""

    stage: str
    step: int
    values: dict[str, float]


class StageResult(BaseModel):
    """One trained stage (sft or dpo): its checkpoint, every logged step, time and data size."""

    stage: str
    checkpoint: str
    steps: list[StepRecord]
    seconds: float
    examples: int
    reference_frozen: bool | None = None


def _require_trl(settings: TrainSettings) -> None:
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import trl  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable("training needs torch, transformers, trl and peft: "
                               "pip install 'scai[train]'") from exc
    for tracker, package, extra in (("tensorboard", "tensorboard", "scai[tracking]"),
                                    ("wandb", "wandb", "wandb")):
        if tracker in settings.report_to:
            try:
                __import__(package)
            except ImportError as exc:
                raise ModelUnavailable(f"train.report_to {tracker} needs the {package} package: "
                                       f"pip install '{extra}'") from exc


def fingerprint(model: Any) -> str:
    """A hash of every parameter: equal before and after means nothing moved."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _callback(stage: str, records: list[StepRecord], advance: Callable[[int], None]):
    from transformers import TrainerCallback

    class Recorder(TrainerCallback):
        """Keeps each logged step's numbers and advances the progress bar."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                values = {}
                for key, col in _LOGGED.items():
                    if key in logs:
                        try:
                            values[col] = float(logs[key])
                        except (TypeError, ValueError):
                            pass
                records.append(StepRecord(stage=stage, step=state.global_step, values=values))

        def on_step_end(self, args, state, control, **kwargs):
            advance(1)

    return Recorder()


def _checkpointing_key() -> str:
    """transformers 5.x renamed `gradient_checkpointing` (the old name warns on every run)."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    return "activation_checkpointing" if "activation_checkpointing" in names else \
        "gradient_checkpointing"


def _common_args(settings: TrainSettings, steps: int, lr: float, out: Path, seed: int) -> dict:
    import torch

    return dict(
        output_dir=str(out / "trainer"), max_steps=steps, per_device_train_batch_size=settings.batch_size,
        learning_rate=lr, logging_steps=1, save_strategy="no", report_to=list(settings.report_to),
        run_name=f"{out.parent.parent.name}/{out.name}", seed=seed,  # e.g. seed-0/sft
        bf16=False, fp16=False, use_cpu=not torch.cuda.is_available(), max_length=settings.max_length,
        disable_tqdm=True, dataloader_num_workers=0, **{_checkpointing_key(): False},
    )


@contextmanager
def _tracking(trainer: Any, settings: TrainSettings, logs: Path) -> Iterator[None]:
    """Trackers log under `logs` (the run's folder, not ./runs or ./wandb): TensorBoard through
    transformers' own callback given a writer there (transformers 5 has no `logging_dir`), W&B
    through WANDB_DIR unless the user set it."""
    if "tensorboard" in settings.report_to:
        from torch.utils.tensorboard import SummaryWriter
        from transformers.integrations import TensorBoardCallback

        for cb in trainer.callback_handler.callbacks:
            if isinstance(cb, TensorBoardCallback) and cb.tb_writer is None:
                cb.tb_writer = SummaryWriter(log_dir=str(logs))
    wandb_dir = "wandb" in settings.report_to and "WANDB_DIR" not in os.environ
    if wandb_dir:
        logs.mkdir(parents=True, exist_ok=True)
        os.environ["WANDB_DIR"] = str(logs)
    try:
        yield
    finally:
        if "wandb" in settings.report_to:
            import wandb

            wandb.finish()  # one W&B run per stage, as TensorBoard has one folder per stage
            wandb.teardown()  # W&B reads WANDB_DIR once per setup: the next stage sets it again
        if wandb_dir:
            os.environ.pop("WANDB_DIR", None)


def _quiet(trainer: Any) -> None:
    """Our progress bar and CSV report the steps; drop the Trainer's raw dict printing."""
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)


def _peft(settings: TrainSettings):
    if not settings.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=0.0,
                      target_modules="all-linear", task_type="CAUSAL_LM")


def _save(model: Any, tok: Any, target: Path, prompting: Prompting) -> Path:
    if hasattr(model, "merge_and_unload"):  # a PEFT model: fold the adapter into the weights
        model = model.merge_and_unload()
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tok.save_pretrained(target)
    mark_prompting(target, prompting)  # prompted as its base was: `hf:DIR` needs no setting
    return target


def _reply_ids(tok: Any, text: str) -> list[int]:
    """A reply as a completion model produces it after the transcript's cue: its tokens, EOS."""
    return [*tok(text.strip(), add_special_tokens=False, split_special_tokens=True)["input_ids"],
            tok.eos_token_id]


def _prompt_ids(tok: Any, messages: list[Message]) -> list[int]:
    from scai.llm.hf import prompt_token_ids

    return prompt_token_ids(tok, messages, "completion")


def transcript_sft_rows(tok: Any, examples: list[SFTExample]) -> list[dict[str, list[int]]]:
    """Tokenized SFT rows for a completion model; only the reply's tokens carry loss."""
    rows = []
    for ex in examples:
        prompt, reply = _prompt_ids(tok, ex.messages[:-1]), _reply_ids(tok, ex.messages[-1].content)
        rows.append({"input_ids": prompt + reply, "labels": [-100] * len(prompt) + reply})
    return rows


def transcript_dpo_rows(tok: Any, pairs: list[PreferencePair]) -> list[dict[str, list[int]]]:
    """Tokenized DPO rows for a completion model, as TRL's collator takes them."""
    return [{"prompt_ids": _prompt_ids(tok, [Message(role="user", content=p.prompt)]),
             "chosen_ids": _reply_ids(tok, p.chosen), "rejected_ids": _reply_ids(tok, p.rejected)}
            for p in pairs]


def _dpo_trainer(prompting: Prompting) -> type:
    from trl import DPOTrainer

    if prompting == "chat":
        return DPOTrainer

    class TranscriptDPOTrainer(DPOTrainer):
        """DPO on rows already tokenized as the transcript: TRL's own tokenization of prompt +
        reply would merge the prompt's final space into the reply's first token."""

        def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
            if args.max_length is None:
                return dataset
            return dataset.filter(lambda row: len(row["prompt_ids"]) < args.max_length)

    return TranscriptDPOTrainer


def _load(path: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from scai.logs import quiet_transformers

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    quiet_transformers()  # no per-example preprocessing bars (ours shows the steps); warnings to log
    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32), tok


def train_sft(base: Path, examples: list[SFTExample], settings: TrainSettings, out: Path, *,
              seed: int = 0, progress: bool = True, stage: str = "sft") -> StageResult:
    """Supervised fine-tuning on (prompt -> answer) chats for `settings.sft_steps` steps; saves
    `out/<stage>` (stage 0 on demonstrations is this under the name `sft0`)."""
    _require_trl(settings)
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    if not examples:
        raise ScaiError(f"{stage.upper()}: no training examples (generation produced no usable "
                        "revisions)")
    prompting = checkpoint_prompting(base)
    model, tok = _load(base)
    data = Dataset.from_list(
        transcript_sft_rows(tok, examples) if prompting == "completion" else
        [{"messages": [m.model_dump() for m in ex.messages]} for ex in examples])
    records: list[StepRecord] = []
    start = time.perf_counter()
    with progress_bar(stage.upper() if progress else None, total=settings.sft_steps) as advance:
        args = SFTConfig(**_common_args(settings, settings.sft_steps, settings.sft_learning_rate,
                                        out / stage, seed))
        trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok,
                             peft_config=_peft(settings), callbacks=[_callback(stage, records, advance)])
        _quiet(trainer)
        if settings.sft_steps:
            with _tracking(trainer, settings, out / "logs" / stage):
                trainer.train()
    path = _save(trainer.model, tok, out / stage, prompting)
    return StageResult(stage=stage, checkpoint=str(path), steps=records,
                       seconds=time.perf_counter() - start, examples=len(examples))


def train_dpo(start_from: Path, pairs: list[PreferencePair], settings: TrainSettings, out: Path,
              *, seed: int = 0, progress: bool = True) -> StageResult:
    """DPO on (prompt, chosen = revision, rejected = original) against a frozen reference."""
    _require_trl(settings)
    from datasets import Dataset
    from trl import DPOConfig

    if not pairs:
        raise ScaiError("DPO: no preference pairs (every revision equalled its original)")
    prompting = checkpoint_prompting(start_from)
    model, tok = _load(start_from)
    ref = None
    if not settings.lora:  # a separate reference copy that nothing may update
        ref, _ = _load(start_from)
        ref.requires_grad_(False)
        ref.eval()
    data = Dataset.from_list(transcript_dpo_rows(tok, pairs) if prompting == "completion" else [
        {"prompt": [{"role": "user", "content": p.prompt}],
         "chosen": [{"role": "assistant", "content": p.chosen}],
         "rejected": [{"role": "assistant", "content": p.rejected}]} for p in pairs
    ])
    records: list[StepRecord] = []
    t0 = time.perf_counter()
    with progress_bar("DPO" if progress else None, total=settings.dpo_steps) as advance:
        args = DPOConfig(beta=settings.beta,
                         **_common_args(settings, settings.dpo_steps, settings.dpo_learning_rate,
                                        out / "dpo", seed))
        trainer = _dpo_trainer(prompting)(
            model=model, ref_model=ref, args=args, train_dataset=data, processing_class=tok,
            peft_config=_peft(settings), callbacks=[_callback("dpo", records, advance)])
        _quiet(trainer)
        reference = trainer.ref_model if ref is not None else None
        before = fingerprint(reference) if reference is not None else None
        if settings.dpo_steps:
            with _tracking(trainer, settings, out / "logs" / "dpo"):
                trainer.train()
        frozen = fingerprint(reference) == before if reference is not None else True
    if not frozen:
        raise ScaiError("DPO: the reference model changed during training; results discarded")
    path = _save(trainer.model, tok, out / "dpo", prompting)
    return StageResult(stage="dpo", checkpoint=str(path), steps=records,
                       seconds=time.perf_counter() - t0, examples=len(pairs), reference_frozen=frozen)


def write_training_log(stages: list[StageResult], out: Path) -> tuple[Path, Path | None]:
    """`training.csv` (one row per step and stage) and `training.png` (loss, margin, accuracy)."""
    rows = [{"stage": s.stage, "step": r.step, **r.values} for s in stages for r in s.steps]
    cols = ["stage", "step", *sorted({k for r in rows for k in r} - {"stage", "step"})]
    csv_path = out / "training.csv"
    out.mkdir(parents=True, exist_ok=True)
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    if not rows:
        return csv_path, None
    from scai.report.figures import pyplot

    plt = pyplot()

    panels = [("loss", "loss"), ("reward_margin", "DPO reward margin"),
              ("reward_accuracy", "DPO reward accuracy")]
    fig, axes = plt.subplots(1, len(panels), figsize=(12, 3.2))
    for ax, (col, title) in zip(axes, panels, strict=True):
        for s in stages:
            pts = [(r.step, r.values[col]) for r in s.steps if col in r.values]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", ms=3, label=s.stage.upper())
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.legend(fontsize=8) if ax.lines else ax.text(0.5, 0.5, "no data", ha="center")
    fig.tight_layout()
    png = out / "training.png"
    fig.savefig(png, dpi=110)
    plt.close(fig)
    return csv_path, png
