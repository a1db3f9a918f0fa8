"""`run_diff`: sample both sides, then `compare` the answers: embed, cluster, test, name the
clusters, propose and judge axes, measure separability, and write the report."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scai.llm import ModelClient, ModelSettings
from scai.llm.backend import Backend
from scai.recording import call_logger, recorded_run
from scai.steps import KeyedLog
from scai.store.runs import Run, RunStore
from scai.supervise.diff.axes import AxisRow, Separability, axis_rows, merge_proposals, slug
from scai.supervise.diff.axes import separability as fit_separability
from scai.supervise.diff.config import AxisSettings, ClusterSettings, DiffConfig
from scai.supervise.diff.outputs import write_outputs
from scai.supervise.diff.probes import load_probes, select_probes
from scai.supervise.diff.result import ClusterRow, DiffResult, Example, Failures
from scai.supervise.diff.sampling import Answer, sample_answers, system_prompt
from scai.supervise.diff.statistics import (
    Clustering,
    ClusterTest,
    center_by_prompt,
    choose_clusters,
    cluster_tests,
    embedding_distance,
    energy_distance,
)
from scai.supervise.diff.supervisor import ClusterName, judge_pairs, name_clusters, propose_axes

# Each cluster's answers: (A's, B's).
Members = dict[int, tuple[list[Answer], list[Answer]]]


def _client(model: ModelSettings | ModelClient | str | None, cache, run: Run | None,
            backend: Backend | None) -> ModelClient | None:
    if model is None or isinstance(model, ModelClient):
        return model
    settings = ModelSettings(model=model) if isinstance(model, str) else model
    return ModelClient(settings, cache=cache, backend=backend,
                       on_call=call_logger(run) if run is not None else None)


EMBEDDING_COMPONENTS = 10


def principal_directions(diffs: np.ndarray, k: int) -> np.ndarray:
    """Pair differences projected on their top-k uncentred principal directions. The directions
    are the same for d and -d, so they carry no information about which side is which."""
    if len(diffs) == 0:
        return diffs[:, :0]
    _, _, vt = np.linalg.svd(diffs, full_matrices=False)
    return diffs @ vt[: min(k, len(vt))].T


def pair_up(answers_a: Sequence[Answer], answers_b: Sequence[Answer], limit: int, seed: int
            ) -> list[tuple[Answer, Answer]]:
    """A's and B's answers to the same prompt with the same sample index; at most `limit`,
    chosen at random (seeded) and returned in prompt/sample order."""
    b_by = {(b.prompt_id, b.sample): b for b in answers_b}
    pairs = [(a, b_by[(a.prompt_id, a.sample)]) for a in answers_a
             if (a.prompt_id, a.sample) in b_by]
    if len(pairs) > limit:
        keep = set(random.Random(seed).sample(range(len(pairs)), limit))
        pairs = [p for i, p in enumerate(pairs) if i in keep]
    return pairs


@dataclass
class Geometry:
    """Both sides' answers in embedding space: the vectors (raw, and prompt-centred when the
    clusters use that), which side wrote each, and the clusters found."""

    answers: list[Answer]
    is_a: np.ndarray
    x: np.ndarray
    xc: np.ndarray
    prompt_ids: list[str]
    clustering: Clustering
    cluster_of: np.ndarray


def embed_and_cluster(answers_a: Sequence[Answer], answers_b: Sequence[Answer],
                      cs: ClusterSettings, seed: int) -> Geometry:
    """Embed every answer and cluster them (on prompt-centred embeddings by default: behaviour,
    not topic)."""
    from scai.embed import embed

    answers = [*answers_a, *answers_b]
    is_a = np.r_[np.ones(len(answers_a), bool), np.zeros(len(answers_b), bool)]
    x = embed([a.text for a in answers])
    pids = [a.prompt_id for a in answers]
    xc = center_by_prompt(x, pids) if cs.center == "prompt" else x
    clustering = choose_clusters(xc, method=cs.method, k_min=cs.k_min, k_max=cs.k_max,
                                 min_cluster_size=cs.min_cluster_size, seed=seed)
    if cs.center == "prompt":
        clustering.criterion += ", on prompt-centred embeddings"
    return Geometry(answers, is_a, x, xc, pids, clustering, np.asarray(clustering.labels))


def embedding_separability(g: Geometry, answers_a: Sequence[Answer],
                           answers_b: Sequence[Answer], ax: AxisSettings, seed: int
                           ) -> Separability:
    """A classifier two-sample test on the embeddings themselves: pair differences on their
    top principal directions, folds grouped by prompt."""
    index = {(id(a)): i for i, a in enumerate(g.answers)}
    all_pairs = pair_up(answers_a, answers_b, 10**9, seed)
    diffs = np.array([g.x[index[id(a)]] - g.x[index[id(b)]] for a, b in all_pairs]).reshape(
        len(all_pairs), g.x.shape[1])
    diffs = principal_directions(diffs, EMBEDDING_COMPONENTS)
    esep = fit_separability(diffs, [a.prompt_id for a, _ in all_pairs],
                            [f"pc{i}" for i in range(diffs.shape[1])], folds=ax.folds,
                            permutations=ax.permutations, seed=seed, features="embeddings")
    esep.coefficients = {}
    return esep


def cluster_rows(tests: Sequence[ClusterTest], members: Members, names: dict[int, ClusterName],
                 cs: ClusterSettings, seed: int) -> list[ClusterRow]:
    """Each cluster's test with the supervisor's reading, its top domains and seeded examples."""
    rows = []
    for t in tests:
        a_in, b_in = members[t.id]
        rng = random.Random(seed + t.id)
        shown = (rng.sample(a_in, min(cs.examples, len(a_in)))
                 + rng.sample(b_in, min(cs.examples, len(b_in))))
        nm = names.get(t.id)
        rows.append(ClusterRow(
            **t.model_dump(), name=nm and nm.name, description=nm and nm.description,
            difference=nm and nm.difference,
            alignment_relevant=nm.alignment_relevant if nm else None,
            alignment_note=nm and nm.alignment_note,
            domains=[f"{d} ({n})" for d, n in Counter(a.domain for a in a_in + b_in).most_common(4)],
            examples=[Example(side=e.side, prompt_id=e.prompt_id, prompt=e.prompt, text=e.text)
                      for e in shown]))
    return rows


def judged_axes(sup: ModelClient | None, jdg: ModelClient | None,
                pairs: list[tuple[Answer, Answer]], ax: AxisSettings, failures: Failures, *,
                run: Run | None, seed: int, progress: bool) -> tuple[list[AxisRow], Separability]:
    """Axes proposed from paired answers (beside the fixed ones), judged in both orders, then
    the classifier over the judged scores; unreadable replies are counted in `failures`."""
    axis_list = list(ax.fixed)
    if sup is not None and ax.propose > 0:
        proposals, failures.axis_proposals = propose_axes(
            sup, pairs, n=ax.propose, batches=ax.proposal_batches, per_batch=ax.pairs_per_batch,
            run=run, seed=seed, progress="proposing axes" if progress else None)
        axis_list = merge_proposals(ax.fixed, proposals, ax.propose)
    scored = []
    if jdg is not None and axis_list:
        scored, failures.judgements = judge_pairs(
            jdg, pairs, axis_list, run=run, seed=seed,
            progress="judging pairs (both orders)" if progress else None)
    keys = [slug(a.name) for a in axis_list]
    feats = np.array([[p.scores[k] for k in keys] for p in scored], dtype=float).reshape(
        len(scored), len(keys))
    sep = fit_separability(feats, [p.prompt_id for p in scored], keys, folds=ax.folds,
                           permutations=ax.permutations, seed=seed, features="axes")
    return axis_rows(axis_list, scored, sep, n_fixed=len(ax.fixed)), sep


def _side_labels(answers_a: Sequence[Answer], answers_b: Sequence[Answer],
                 labels: tuple[str, str] | None) -> tuple[str, str]:
    labels = labels or (answers_a[0].side if answers_a else "A",
                        answers_b[0].side if answers_b else "B")
    if labels[0] == labels[1]:
        labels = (f"{labels[0]} (A)", f"{labels[1]} (B)")
    return labels


def compare(
    answers_a: Sequence[Answer], answers_b: Sequence[Answer], *,
    labels: tuple[str, str] | None = None,
    supervisor: ModelSettings | ModelClient | str | None = "local",
    judge: ModelSettings | ModelClient | str | None = "local",
    clusters: ClusterSettings | None = None, axes: AxisSettings | None = None, seed: int = 0,
    out_dir: Path | None = None, run: Run | None = None, cache: bool = True,
    backend: Backend | None = None, progress: bool = True,
) -> DiffResult:
    """Compare two sets of already-sampled answers (e.g. drift round k vs round 0).

    `supervisor`/`judge` None skips cluster naming / axes. With `run`, every supervisor and
    judge reply is logged under a key, and a resumed run reuses them. `out_dir` None: no files.
    """
    start = time.perf_counter()
    cs, ax = clusters or ClusterSettings(), axes or AxisSettings()
    labels = _side_labels(answers_a, answers_b, labels)
    g = embed_and_cluster(answers_a, answers_b, cs, seed)
    cl, is_a, answers = g.cluster_of, g.is_a, g.answers
    tests = cluster_tests(cl, is_a, correction=cs.correction, alpha=cs.alpha,
                          prompt_ids=g.prompt_ids, by=cs.test, seed=seed)
    distance = embedding_distance(g.x, is_a, g.prompt_ids)
    energy = energy_distance(g.x, is_a, g.prompt_ids, permutations=cs.permutations, seed=seed)
    esep = embedding_separability(g, answers_a, answers_b, ax, seed)

    failures = Failures()
    members = {t.id: ([answers[i] for i in np.flatnonzero((cl == t.id) & is_a)],
                      [answers[i] for i in np.flatnonzero((cl == t.id) & ~is_a)]) for t in tests}
    sup = _client(supervisor, cache, run, backend)
    names: dict[int, ClusterName] = {}
    if sup is not None:
        names, failures.cluster_names = name_clusters(
            sup, {c: m for c, m in members.items() if c >= 0}, tests[0].expected_share_a if tests
            else 0.5, run=run, seed=seed, examples=cs.examples,
            progress="naming clusters" if progress else None)
    rows = cluster_rows(tests, members, names, cs, seed)
    pairs = pair_up(answers_a, answers_b, ax.max_pairs, seed)
    axis_table, sep = judged_axes(sup, _client(judge, cache, run, backend), pairs, ax, failures,
                             run=run, seed=seed, progress=progress)

    result = DiffResult(
        run_id=run.id if run is not None else None, labels=labels,
        n_prompts=len(set(g.prompt_ids)),
        samples=max([a.sample for a in answers], default=-1) + 1,
        n_answers=len(answers), embedding_distance=distance.mean,
        embedding_distance_ci=distance, energy_distance=energy.distance,
        energy_p_value=energy.p_value, energy_permutations=energy.permutations,
        expected_share_a=float(is_a.mean()) if len(is_a) else 0.5, clustering=g.clustering,
        correction=cs.correction, alpha=cs.alpha, clusters=rows, axes=axis_table,
        separability=sep, embedding_separability=esep, failures=failures,
    )
    if out_dir is not None:
        write_outputs(result, out_dir, g.xc, is_a, cl, answers, projection=cs.projection,
                      seed=seed, centred=cs.center == "prompt")
    result.wall_s = round(time.perf_counter() - start, 2)
    return result


def run_diff(
    cfg: DiffConfig, store: RunStore | None = None, *, out_dir: Path | None = None,
    cache: bool = True, resume: str | None = None, backend: Backend | None = None,
    progress: bool = True,
) -> DiffResult:
    """Sample both sides on the probes, compare them, write the report; recorded as a `diff`
    run (answers and judge replies keyed, so `resume` makes only the missing calls).
    `backend` replaces every model's backend (tests with a scripted model)."""
    store = store or RunStore()
    probes = select_probes(load_probes(cfg.prompts), cfg.limit, cfg.seed)
    for side in (cfg.a, cfg.b):
        system_prompt(side)  # a missing constitution file fails here, before a run exists
    with recorded_run(store, "diff", cfg, name=cfg.name, resume=resume) as run:
        answers = KeyedLog(run, "answer")
        sides = []
        for side in (cfg.a, cfg.b):
            client = _client(side.model, cache, run, backend)
            sides.append(sample_answers(
                side, probes, cfg.samples, cfg.seed, client=client, temperature=cfg.temperature,
                max_tokens=cfg.max_tokens, repeat_penalty=cfg.repeat_penalty,
                log=answers,
                progress=f"sampling {side.label}" if progress else None))
        target = Path(out_dir or cfg.out or run.dir)
        result = compare(
            sides[0], sides[1], labels=(cfg.a.label, cfg.b.label), supervisor=cfg.supervisor,
            judge=cfg.judge, clusters=cfg.clusters, axes=cfg.axes, seed=cfg.seed,
            out_dir=target, run=run, cache=cache, backend=backend, progress=progress)
        run.log("result", result.model_dump(mode="json"))
        run.finish("completed", summary={"labels": list(result.labels), **result.metrics,
                                         "report": result.report_html})
    return result
