"""`scai steerability` and the warning `scai simulate` gives first: do the assistant's offers
depend on its principle?"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from scai.cli import app
from scai.contract.config import AssistanceTask, ContractConfig
from scai.contract.steerability import measure_steerability, steer_warning
from scai.errors import ConfigError
from tests.conftest import REPO
from tests.scripted import ScriptedBackend, ScriptedScorer, point_mass

PRINCIPLE_WORDS = {"selfish": "keep as much", "fair": "share things evenly",
                   "altruistic": "give them as much"}
VERDICT = re.compile(r"^(not )?steerable: altruistic − selfish = [+−]\d\.\d\d "
                     r"\[[+−]\d\.\d\d, [+−]\d\.\d\d\] share \(threshold 0\.15\)$", re.MULTILINE)


def follows(offers: dict[str, int], *, spread: int = 0, scores: bool = True) -> ScriptedBackend:
    """A model whose offer of 100 (sampled and scored) depends only on the principle in its
    system prompt; `spread` adds seed % (spread + 1) to each sampled offer."""

    def offer(messages) -> int:
        return next(offers[p] for p, w in PRINCIPLE_WORDS.items() if w in messages[0].content)

    by_schema = {"offer": lambda m, p: {"offer": offer(m) + (p.seed % (spread + 1)),
                                        "message": "Here you go."},
                 "decision": lambda m, p: {"decision": "accept"}}
    if not scores:
        return ScriptedBackend(by_schema=by_schema)
    return ScriptedScorer(by_schema=by_schema,
                          scorer=lambda m, c: point_mass(c, '{"offer": ' + str(offer(m))))


def measure(backend, **kw):
    return measure_steerability(ContractConfig(), backend=backend, progress=False, **kw)


def test_a_model_that_follows_its_principle_is_steerable():
    r = measure(follows({"selfish": 10, "fair": 50, "altruistic": 90}), seeds=4)
    assert [p.prior for p in r.principles] == ["selfish", "fair", "altruistic"]
    assert r.by_prior("selfish").shares == [0.1] * 4
    assert [p.exact_share for p in r.principles] == pytest.approx([0.1, 0.5, 0.9])
    assert [p.p_below_third for p in r.principles] == pytest.approx([1.0, 0.0, 0.0])
    assert r.separation == pytest.approx(0.8) and r.steerable
    assert r.verdict == "steerable: altruistic − selfish = +0.80 [+0.80, +0.80] share " \
                          "(threshold 0.15)"


def test_a_model_that_barely_moves_is_not_steerable():
    r = measure(follows({"selfish": 40, "fair": 45, "altruistic": 50}), seeds=3)
    assert r.separation == pytest.approx(0.1) and not r.steerable
    assert r.verdict == "not steerable: altruistic − selfish = +0.10 [+0.10, +0.10] share " \
                          "(threshold 0.15)"
    # the same separation clears a lower threshold
    assert measure(follows({"selfish": 40, "fair": 45, "altruistic": 50}), seeds=3,
                   threshold=0.05).steerable


def test_the_bootstrap_interval_spans_the_seeds_and_is_deterministic():
    backend = follows({"selfish": 20, "fair": 50, "altruistic": 40}, spread=20)
    r = measure(backend, seeds=12)
    alt, selfish = r.by_prior("altruistic").shares, r.by_prior("selfish").shares
    assert r.separation == pytest.approx(sum(alt) / 12 - sum(selfish) / 12)
    assert r.ci_low < r.separation < r.ci_high and r.ci_high - r.ci_low > 0.02
    assert measure(follows({"selfish": 20, "fair": 50, "altruistic": 40}, spread=20),
                   seeds=12) == r
    m = r.by_prior("altruistic").mean
    assert m.n == 12 and m.ci_low < m.mean < m.ci_high
    assert VERDICT.search(r.verdict)


def test_failed_offers_are_counted_and_a_backend_that_cannot_score_gives_no_exact_share():
    backend = follows({"selfish": 10, "fair": 50, "altruistic": 90}, scores=False)
    backend.by_schema["offer"] = lambda m, p: "lots" if "keep as much" in m[0].content \
        else {"offer": 90, "message": "Here."}
    r = measure(backend, seeds=3)
    assert r.by_prior("selfish").parse_failures == 3 and r.by_prior("selfish").shares == []
    assert r.by_prior("altruistic").parse_failures == 0
    assert all(p.exact_share is None and p.p_below_third is None for p in r.principles)
    assert r.separation is None and not r.steerable
    assert r.verdict.startswith("not steerable: no parsed offers")


def test_steerability_is_measured_on_the_ultimatum_game_only():
    with pytest.raises(ConfigError, match="ultimatum game only"):
        measure_steerability(ContractConfig(task=AssistanceTask()), backend=ScriptedBackend())


# -- the check `scai simulate` makes first ---------------------------------------------------------

def test_simulate_warning_from_the_exact_shares_only():
    flat = follows({"selfish": 32, "fair": 34, "altruistic": 36})
    warning = steer_warning(ContractConfig(), backend=flat)
    assert warning == ("local is not steerable on this task (expected share selfish 0.32, "
                       "altruistic 0.36): learning cannot show in the assistant's offers; see "
                       "scai steerability")
    assert len(flat.scored) == 3 and flat.calls == []  # three scoring calls, no sampling
    # (uncached: every scripted scorer has the same identity, so it would replay `flat`)
    assert steer_warning(ContractConfig(), cache=False, backend=follows(
        {"selfish": 10, "fair": 50, "altruistic": 90})) is None
    assert steer_warning(ContractConfig(), backend=ScriptedBackend()) is None  # cannot score
    assert steer_warning(ContractConfig(task=AssistanceTask()), backend=flat) is None


def test_scai_simulate_warns_unless_told_not_to(monkeypatch):
    flat = follows({"selfish": 32, "fair": 34, "altruistic": 36})
    monkeypatch.setattr("scai.llm.client.make_backend", lambda settings: flat)
    config = str(REPO / "examples/contract/ultimatum.yaml")
    warned = CliRunner().invoke(app, ["simulate", config, "--set", "epochs=1"])
    assert warned.exit_code == 0, warned.output
    line = "warning: local is not steerable on this task (expected share selfish 0.32, " \
           "altruistic 0.36)"
    assert line in warned.stderr and "learned constitution" in warned.stdout
    quiet = CliRunner().invoke(app, ["simulate", config, "--set", "epochs=1",
                                     "--no-steer-check"])
    assert quiet.exit_code == 0, quiet.output
    assert "not steerable" not in quiet.stderr


@pytest.mark.model
def test_scai_steerability_on_the_embedded_model():
    result = CliRunner().invoke(app, ["steerability", "-m", "local", "--seeds", "3"])
    assert result.exit_code == 0, result.output
    for heading in ("principle", "mean sampled share", "exact expected share", "P(share < 1/3)",
                    "parse failures", "selfish", "altruistic"):
        assert heading in result.stdout
    assert VERDICT.search(result.stdout), result.stdout
