"""`scai drift`: iterated self-training, watched round by round.

Round 0 is the base model. Round k makes training data with round k-1's model (its own answers,
or critique/revision under a constitution), trains round k's model from round k-1's checkpoint,
then answers the fixed probe set and the reflectivity benchmark. Round k's answers are compared
with round 0's and round k-1's by the `scai diff` method (embedding distance, energy distance,
clusters with corrected tests, supervisor-named clusters, behaviour axes judged in both orders).

Layout: OUT/round-K/{data,model,probes,vs-0,vs-prev,bench}/ and OUT/round-K/round.json (written
last: a round with it is done and is not redone), then OUT/drift.json, OUT/report.md,
OUT/drift.png. Every model is run through transformers (`hf:`), round 0 included, so that the
rounds differ only by training.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from scai.cai.config import CaiConfig
from scai.cai.generate import SFTExample
from scai.cai.stages import prompt_sets, run_generate, run_train
from scai.cai.train import StageResult, train_sft, write_training_log
from scai.datafiles import write_jsonl
from scai.errors import ScaiError
from scai.llm import GenerationParams, Message, ModelClient, ModelSettings, run_sync
from scai.llm.hf import resolve_base
from scai.progress import stderr
from scai.recording import recorded_run
from scai.steps import derive_seed
from scai.store import RunStore
from scai.supervise.diff.config import DiffSide
from scai.supervise.diff.probes import load_probes, select_probes
from scai.supervise.diff.runner import compare
from scai.supervise.diff.sampling import Answer, sample_answers
from scai.supervise.drift.config import DriftConfig
from scai.supervise.drift.outputs import write_outputs
from scai.supervise.drift.result import DriftResult, RoundResult, comparison
from scai.supervise.drift.seeding import read_trait, seed_trait


def _cai_config(cfg: DriftConfig, model: str, base: Path, seed: int) -> CaiConfig:
    return CaiConfig(seed=seed, constitution=cfg.constitution,
                     model=ModelSettings(model=model, concurrency=8),
                     generate=cfg.generate,
                     train=cfg.train.model_copy(update={"base_model": str(base)}))


def _distill(cfg: DriftConfig, model: str, base: Path, seed: int, out: Path, cache: bool,
             progress: bool) -> tuple[list[StageResult], int]:
    """Self-distillation: SFT on the current model's own answers to the training prompts."""
    cai = _cai_config(cfg, model, base, seed)
    prompts = [it for train, _ in prompt_sets(cai, seed).values() for it in train]
    if not prompts:
        raise ScaiError("drift: no training prompts (set generate.red_team or generate.helpful)")
    g = cfg.generate
    client = ModelClient(cai.model, cache=True if cache else None)
    requests = [([Message(role="user", content=it.prompt)],
                 GenerationParams(temperature=g.temperature, max_tokens=g.max_tokens,
                                  repeat_penalty=g.repeat_penalty,
                                  seed=derive_seed(seed, "distill", it.id, k)))
                for it in prompts for k in range(g.samples)]
    from scai.progress import progress_bar

    async def go():
        import asyncio

        with progress_bar("self-distillation data" if progress else None, len(requests)) as adv:
            async def one(req):
                done = await client.complete(*req)
                adv(1)
                return done.text.strip()

            return await asyncio.gather(*(one(r) for r in requests))

    texts = run_sync(go())
    owners = [it for it in prompts for _ in range(g.samples)]
    examples = [SFTExample(prompt_id=it.id, messages=[Message(role="user", content=it.prompt),
                                                      Message(role="assistant", content=text)])
                for it, text in zip(owners, texts, strict=True) if text]
    (out / "data").mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "data" / "sft.jsonl", examples)
    stage = train_sft(base, examples, cfg.train, out / "model", seed=seed, progress=progress)
    write_training_log([stage], out / "model")
    return [stage], len(examples)


def _final_values(stages: list[StageResult]) -> dict[str, float]:
    values: dict[str, float] = {}
    for stage in stages:
        if stage.steps:
            for k, v in stage.steps[-1].values.items():
                values[f"{stage.stage}_{k}"] = v
    return values


REPLICATE_SEED = 104_729  # added to the seed for the noise floor's second sampling of round 0
ROUND_SEED_STRIDE = 1_000  # probes.seeds fresh: round k samples with seed + k * this


def _round_seed(cfg: DriftConfig, k: int) -> int:
    return cfg.seed + (k * ROUND_SEED_STRIDE if cfg.probes.seeds == "fresh" else 0)


def _probe_answers(cfg: DriftConfig, model: str, label: str, out: Path, cache: bool,
                   progress: bool, seed: int | None = None) -> list[Answer]:
    """Round `label`'s answers to the fixed probes (seeds: `probes.seeds`), kept as JSONL."""
    path = out / "answers.jsonl"
    if path.is_file():
        return [Answer.model_validate_json(line) for line in path.read_text().splitlines() if line]
    p = cfg.probes
    probes = select_probes(load_probes(p.file), p.limit, cfg.seed)
    side = DiffSide(label=label, model=ModelSettings(model=model, concurrency=8))
    client = ModelClient(side.model, cache=True if cache else None)
    answers = sample_answers(side, probes, p.samples, cfg.seed if seed is None else seed,
                             client=client,
                             temperature=p.temperature, max_tokens=p.max_tokens,
                             progress=f"probes, {label}" if progress else None)
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(a.model_dump_json() + "\n" for a in answers), encoding="utf-8")
    return answers


def _repr_prompts(cfg: DriftConfig) -> list[str]:
    """The probes whose hidden states representation drift and the trait compare."""
    return [p.text for p in load_probes(cfg.probes.file)][:cfg.representations.limit]


def _relabel(answers: list[Answer], label: str) -> list[Answer]:
    return [a.model_copy(update={"side": label}) for a in answers]


def _bench(cfg: DriftConfig, model: str, out: Path, cache: bool, progress: bool
           ) -> tuple[dict[str, float | None], int]:
    from scai.supervise.bench.items import default_seeds_path, load_items
    from scai.supervise.bench.run import run_benchmark

    items = load_items(cfg.bench.file or default_seeds_path())
    taken: dict[str, int] = {}
    chosen = []
    for it in items:
        if taken.get(it.subtask, 0) < cfg.bench.per_subtask:
            taken[it.subtask] = taken.get(it.subtask, 0) + 1
            chosen.append(it)
    result = run_benchmark(model, chosen, seed=cfg.seed, out_dir=out, cache=cache,
                           progress=progress)
    scores = {s: sc.mean for s, sc in result.per_subtask.items()}
    scores["overall"] = result.overall.mean
    return scores, result.overall.parse_failures


def _measure(cfg: DriftConfig, k: int, model: str, answers: dict[int, list[Answer]], out: Path,
             cache: bool, progress: bool, rr: RoundResult) -> None:
    t0 = time.perf_counter()
    answers[k] = _probe_answers(cfg, model, f"round {k}", out / "probes", cache, progress,
                                seed=_round_seed(cfg, k))
    rr.seconds["probes"] = time.perf_counter() - t0
    c = cfg.compare
    if k == 0 and c.noise_floor:
        # The same model sampled again: how far apart two samplings of an unchanged model are.
        # Clusters and tests only (no supervisor, no judge): it is a yardstick, not a finding.
        t0 = time.perf_counter()
        again = _probe_answers(cfg, model, "round 0 again", out / "probes-replicate", cache,
                               progress, seed=cfg.seed + REPLICATE_SEED)
        diff = compare(_relabel(answers[0], "round 0"), _relabel(again, "round 0 again"),
                       labels=("round 0", "round 0 again"), supervisor=None, judge=None,
                       clusters=c.clusters, axes=c.axes, seed=cfg.seed,
                       out_dir=out / "noise-floor", cache=cache, progress=progress)
        rr.noise_floor = comparison(diff, "round 0 resampled")
        rr.seconds["noise_floor"] = time.perf_counter() - t0
    if k > 0:
        t0 = time.perf_counter()
        for versus, j in (("round 0", 0), ("previous", k - 1)):
            if versus == "previous" and j == 0:
                rr.vs_prev = rr.vs_base
                continue
            diff = compare(_relabel(answers[j], f"round {j}"), _relabel(answers[k], f"round {k}"),
                           labels=(f"round {j}", f"round {k}"), supervisor=c.supervisor,
                           judge=c.judge, clusters=c.clusters, axes=c.axes, seed=cfg.seed,
                           out_dir=out / ("vs-0" if j == 0 else "vs-prev"), cache=cache,
                           progress=progress)
            note = comparison(diff, versus)
            if j == 0:
                rr.vs_base = note
            else:
                rr.vs_prev = note
        rr.seconds["compare"] = time.perf_counter() - t0
    if cfg.bench.enabled:
        t0 = time.perf_counter()
        rr.bench, rr.bench_parse_failures = _bench(cfg, model, out / "bench", cache, progress)
        rr.seconds["bench"] = time.perf_counter() - t0


def _round(cfg: DriftConfig, k: int, prev: Path, answers: dict[int, list[Answer]], out: Path,
           cache: bool, progress: bool, first: str) -> tuple[RoundResult, Path]:
    """Round k from round k-1's checkpoint `prev`; `first` is round 0's model."""
    done = out / "round.json"
    if done.is_file():
        rr = RoundResult.model_validate_json(done.read_text(encoding="utf-8"))
        answers[k] = _probe_answers(cfg, rr.model, f"round {k}", out / "probes", cache, progress,
                                    seed=_round_seed(cfg, k))
        return rr, Path(rr.model.removeprefix("hf:"))
    seed = cfg.seed + k
    if k == 0:
        ckpt, rr = prev, RoundResult(round=0, model=f"hf:{prev}")
    else:
        if progress:
            stderr.print(f"[bold]round {k}[/]: {cfg.method} from {prev}")
        current = f"hf:{prev}"
        t0 = time.perf_counter()
        if cfg.method == "distill":
            stages, examples = _distill(cfg, current, prev, seed, out, cache, progress)
            pairs = 0
        else:
            cai = _cai_config(cfg, current, prev, seed)
            gen = run_generate(cai, out / "data", seed=seed, cache=cache, progress=progress)
            stages = run_train(cai, out / "data", out / "model", seed=seed, progress=progress)
            examples, pairs = gen.sft, gen.pairs
        ckpt = Path(stages[-1].checkpoint)
        rr = RoundResult(round=k, model=f"hf:{ckpt}", examples=examples, pairs=pairs,
                         training=_final_values(stages),
                         seconds={"train": time.perf_counter() - t0})
    _measure(cfg, k, rr.model, answers, out, cache, progress, rr)
    if k > 0 and cfg.representations.enabled:
        from scai.supervise.drift.representations import representation_drift

        t0 = time.perf_counter()
        rr.repr_vs_base, rr.repr_vs_prev = representation_drift(
            cfg, k, first, f"hf:{prev}", rr.model, out, progress)
        rr.seconds["representations"] = time.perf_counter() - t0
    if cfg.trait is not None:
        t0 = time.perf_counter()
        rr.trait = read_trait(cfg, k, (f"hf:{resolve_base(cfg.base_model)}", first, rr.model),
                              [a.text for a in answers[k]], _repr_prompts(cfg), out.parent)
        rr.seconds["trait"] = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    done.write_text(rr.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return rr, ckpt


def run_drift(cfg: DriftConfig, out_dir: Path, *, store: RunStore | None = None,
              cache: bool = True, progress: bool = True) -> DriftResult:
    """Rounds 0..cfg.rounds; each finished round is kept, so a rerun on the same `out_dir`
    resumes at the first unfinished round."""
    store = store or RunStore()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with recorded_run(store, "drift", cfg, name=cfg.name) as run:
        run.log("out_dir", {"path": str(out_dir.resolve())})
        answers: dict[int, list[Answer]] = {}
        results: list[RoundResult] = []
        ckpt = resolve_base(cfg.base_model)
        base_trait = None
        if cfg.trait is not None:
            seeded = seed_trait(cfg, ckpt, out_dir / "seed", progress)
            # the trait's starting point: the base model's answers before it was seeded
            base = f"hf:{ckpt}"
            texts = [a.text for a in _probe_answers(cfg, base, "base", out_dir / "seed" / "probes",
                                                    cache, progress, seed=_round_seed(cfg, 0))]
            base_trait = read_trait(cfg, -1, (base, f"hf:{seeded}", base), texts,
                                    _repr_prompts(cfg), out_dir)
            ckpt = seeded
        first = f"hf:{ckpt}"
        for k in range(cfg.rounds + 1):
            rr, ckpt = _round(cfg, k, ckpt, answers, out_dir / f"round-{k}", cache, progress,
                              first)
            results.append(rr)
            run.log("round", rr.model_dump(mode="json"), key=f"round-{k}")
        result = DriftResult(run_id=run.id, out_dir=str(out_dir), method=cfg.method,
                             rounds=results, report=str(out_dir / "report.md"), plot=None,
                             name=cfg.name, base_model=cfg.base_model,
                             probe_limit=cfg.probes.limit, probe_samples=cfg.probes.samples,
                             seed=cfg.seed, trait_base=base_trait)
        write_outputs(result, out_dir)
        run.log("result", json.loads(result.model_dump_json()))
    return result
