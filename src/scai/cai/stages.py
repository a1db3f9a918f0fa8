"""The CAI stages as steps that read and write files a person can inspect.

stage 0 (a base model only, `stage0.steps` > 0): `sft0/` (SFT on the demonstrations) and
`stage0.json`. generate: `chains.jsonl` (every round), `pairs.jsonl` (DPO), `sft.jsonl`,
`split.json` (which prompts trained, which are held out for evaluation). train: `sft/` and
`dpo/` checkpoints, `training.csv`, `training.png`, `train.json`.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from scai.cai.config import CaiConfig
from scai.cai.data import Constitution, PromptItem, load_prompts, load_public, split_prompts
from scai.cai.demos import as_prompts, as_sft, load_demonstrations
from scai.cai.evaluate import ModelScores, eval_items, run_evaluate
from scai.cai.generate import PreferencePair, SFTExample, generate_chains, to_pairs, to_sft
from scai.cai.train import StageResult, train_dpo, train_sft, write_training_log
from scai.datafiles import jsonl_rows, read_text, write_jsonl
from scai.errors import ConfigError
from scai.llm import GenerationParams, ModelClient, ModelSettings, run_sync
from scai.llm.backend import Backend
from scai.llm.client import OnCall
from scai.llm.hf import resolve_base
from scai.store import RunStore


class Split(BaseModel):
    """Prompt ids per side; evaluation refuses any prompt listed under `train`."""

    seed: int
    train: list[str]
    eval: list[str]


class GenerateResult(BaseModel):
    """What `run_generate` wrote: counts of chains, pairs and SFT examples, and the split."""

    out_dir: str
    chains: int
    pairs: int
    sft: int
    split: Split


def prompt_sets(config: CaiConfig, seed: int) -> dict[str, tuple[list[PromptItem], list[PromptItem]]]:
    """(train, eval) per prompt set, split by the seed; train lists trimmed to the configured size."""
    red = (load_public(config.red_team_file, keep="unsafe") if config.red_team_file
           else load_prompts("red_team"))  # an XSTest file: its unsafe contrast rows only
    sets = {"red_team": red, "helpful": load_prompts("helpful")}
    limits = {"red_team": config.generate.red_team, "helpful": config.generate.helpful}
    out = {}
    for name, items in sets.items():
        train, evals = split_prompts(items, eval_fraction=config.generate.eval_fraction, seed=seed)
        out[name] = (train[: limits[name]], evals)
    return out


def load_constitution(config: CaiConfig, store: RunStore | None = None) -> Constitution:
    """The config's constitution: learned by a Social Contract run in `store` (default: the
    store at $SCAI_RUNS_DIR or ./runs) when `constitution_from` is set, else the principles file."""
    if config.constitution_from:
        from scai.cai.bridge import constitution_from_run

        return constitution_from_run(store or RunStore(), config.constitution_from)
    return Constitution.load(config.constitution)


def run_stage0(config: CaiConfig, out_dir: Path, *, seed: int | None = None,
               progress: bool = True) -> StageResult:
    """Stage 0: SFT of the base model on the demonstrations, in the base model's own prompt
    format; writes `out_dir/sft0/` and `out_dir/stage0.json`."""
    seed = config.seed if seed is None else seed
    s0 = config.stage0
    if not s0.steps:
        raise ConfigError("stage 0 is off (stage0.steps is 0): set stage0.steps, e.g. "
                          "--set stage0.steps=12")
    demos = as_sft(load_demonstrations(s0.demonstrations))
    settings = config.train.model_copy(update={"sft_steps": s0.steps, "max_length": s0.max_length,
                                               "sft_learning_rate": s0.learning_rate})
    result = train_sft(resolve_base(config.train.base_model), demos, settings, out_dir,
                       seed=seed, progress=progress, stage="sft0")
    (out_dir / "stage0.json").write_text(result.model_dump_json(indent=2) + "\n",
                                         encoding="utf-8")
    return result


def read_stage0(model_dir: Path) -> StageResult:
    """What `run_stage0` left in `model_dir`; ConfigError saying how to make it when missing."""
    path = model_dir / "stage0.json"
    if not path.is_file():
        raise ConfigError(f"{path}: missing (stage 0 is on: run `scai cai stage0 CONFIG --out "
                          f"{model_dir}` first, or set stage0.steps=0)")
    try:
        return StageResult.model_validate_json(read_text(path))
    except ValueError as exc:
        raise ConfigError(f"{path}: not a stage-0 record ({str(exc).splitlines()[0]})") from exc


def generator(config: CaiConfig, model_dir: Path | None = None) -> ModelSettings:
    """The model that answers, critiques and revises: the stage-0 model in `model_dir` when
    stage 0 runs and `stage0.generator` is sft0, else `config.model`."""
    if not config.stage0.steps or config.stage0.generator == "model":
        return config.model
    if model_dir is None:
        raise ConfigError("stage 0 is on and stage0.generator is sft0: say where its model is "
                          "(--model-dir, the --out of `scai cai stage0`)")
    return config.model.model_copy(update={"model": f"hf:{read_stage0(model_dir).checkpoint}"})


def run_generate(config: CaiConfig, out_dir: Path, *, seed: int | None = None,
                 cache: bool = True, progress: bool = True, on_call: OnCall | None = None,
                 store: RunStore | None = None, backend: Backend | None = None,
                 model_dir: Path | None = None) -> GenerateResult:
    """Answer the training prompts, critique and revise; write chains, pairs, SFT data, split.
    With stage 0, the stage-0 model in `model_dir` generates (see `generator`)."""
    seed = config.seed if seed is None else seed
    constitution = load_constitution(config, store)
    sets = prompt_sets(config, seed)
    train = [it for tr, _ in sets.values() for it in tr]
    if not train:
        raise ConfigError("generate: no training prompts (set generate.red_team or generate.helpful)")
    g = config.generate
    params = GenerationParams(temperature=g.temperature, max_tokens=g.max_tokens,
                              repeat_penalty=g.repeat_penalty)
    client = ModelClient(generator(config, model_dir) if backend is None else config.model,
                         cache=True if cache else None, on_call=on_call, backend=backend)
    chains = run_sync(generate_chains(client, train, constitution, rounds=g.rounds,
                                      samples=g.samples, seed=seed, params=params,
                                      progress=progress, fewshot=g.fewshot))
    pairs, sft = to_pairs(chains), to_sft(chains)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(out_dir / "chains.jsonl", chains)
    write_jsonl(out_dir / "pairs.jsonl", pairs)
    write_jsonl(out_dir / "sft.jsonl", sft)
    split = Split(seed=seed, train=[it.id for it in train],
                  eval=[it.id for _, ev in sets.values() for it in ev])
    (out_dir / "split.json").write_text(split.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return GenerateResult(out_dir=str(out_dir), chains=len(chains), pairs=len(pairs),
                          sft=len(sft), split=split)


def read_split(data_dir: Path) -> Split:
    """The split `scai cai generate` wrote in `data_dir`; ConfigError when missing or garbled."""
    path = data_dir / "split.json"
    if not path.is_file():
        raise ConfigError(f"{path}: missing (the split written by `scai cai generate`; evaluation "
                          "needs it to refuse prompts the models were trained on)")
    try:
        return Split.model_validate_json(read_text(path))
    except ValueError as exc:
        raise ConfigError(f"{path}: not a split file ({str(exc).splitlines()[0]})") from exc


def eval_stage(config: CaiConfig, models: dict[str, str], out_dir: Path, *,
               data_dir: Path | None = None, seed: int | None = None, cache: bool = True,
               progress: bool = True, on_call: OnCall | None = None,
               backend: Backend | None = None, store: RunStore | None = None
               ) -> dict[str, ModelScores]:
    """Judge `models` on the held-out prompts of this seed's split. With `data_dir`, the split
    written at generation is checked too: a prompt it trained on is refused. `store` is where
    the judge's measured agreement is looked up (its latest `scai judge-check`)."""
    seed = config.seed if seed is None else seed
    sets = prompt_sets(config, seed)
    trained = [it for tr, _ in sets.values() for it in tr]
    if data_dir is not None:
        split = read_split(data_dir)
        everything = {it.id: it for tr, ev in sets.values() for it in tr + ev}
        trained += [everything[i] for i in split.train if i in everything]
    if config.stage0.steps:  # the demonstrations were trained on too
        trained += as_prompts(load_demonstrations(config.stage0.demonstrations))
    items = eval_items(sets, config.evaluate, trained)
    return run_evaluate(models, items, config.evaluate, out_dir, seed=seed, cache=cache,
                        progress=progress, on_call=on_call, backend=backend, store=store)


def _read_rows(path: Path, model: type[BaseModel]) -> list:
    if not path.is_file():
        raise ConfigError(f"{path}: missing (run `scai cai generate` first, or point --data at "
                          "its output directory)")
    rows = []
    for n, row in jsonl_rows(path, read_text(path)):
        try:
            rows.append(model.model_validate(row))
        except ValueError as exc:
            first = str(exc).splitlines()[1:2] or [str(exc)]
            raise ConfigError(f"{path}:{n}: not a {model.__name__} ({first[0].strip()})") from exc
    return rows


def run_train(config: CaiConfig, data_dir: Path, out_dir: Path, *, seed: int | None = None,
              progress: bool = True) -> list[StageResult]:
    """SFT on `sft.jsonl` from the base model (from the stage-0 model in `out_dir` when stage 0
    is on), then DPO on `pairs.jsonl` from the SFT model."""
    seed = config.seed if seed is None else seed
    sft_rows = _read_rows(data_dir / "sft.jsonl", SFTExample)
    pairs = _read_rows(data_dir / "pairs.jsonl", PreferencePair)
    base = resolve_base(config.train.base_model)
    stages = [read_stage0(out_dir)] if config.stage0.steps else []
    start = Path(stages[0].checkpoint) if stages else base
    if config.train.sft_steps:
        stages.append(train_sft(start, sft_rows, config.train, out_dir, seed=seed,
                                progress=progress))
        start = Path(stages[-1].checkpoint)
    if config.train.dpo_steps:
        stages.append(train_dpo(start, pairs, config.train, out_dir, seed=seed, progress=progress))
    write_training_log(stages, out_dir)
    (out_dir / "train.json").write_text(json.dumps(
        {"base": str(base), "seed": seed, "stages": [s.model_dump() for s in stages]}, indent=2)
        + "\n", encoding="utf-8")
    return stages
