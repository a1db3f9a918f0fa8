"""Is the assistant steerable? Its ultimatum offers under each prior principle, side by side.

A simulation teaches the assistant a principle; if the model's offers do not depend on the
principle in its system prompt, no learner can show learning in them. This measures that
dependence: seeded offers sampled exactly as the game's proposer step makes them (step keys
`steer|{prior}|s{i}`, so a rerun replays from the response cache) and, where the backend can
score, the exact offer distribution from the model's log-probabilities. The verdict rests on the
separation of the sampled shares, altruistic − selfish, and its bootstrap 95% CI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pydantic import BaseModel, Field, computed_field

from scai.contract.config import ContractConfig
from scai.contract.constitution import Constitution
from scai.contract.persona import load_personas
from scai.contract.steps import Caller
from scai.contract.tasks import Table, task_for
from scai.contract.tasks.ultimatum import Ultimatum
from scai.contract.tasks.ultimatum_config import POLICIES as PRIORS
from scai.errors import ConfigError, ModelError
from scai.llm.backend import Backend
from scai.progress import progress_bar
from scai.stats import Estimate, bootstrap_diff_ci, mean_ci
from scai.steps import ClientPool, KeyedLog, derive_seed

DEFAULT_THRESHOLD = 0.15  # the separation (share) a learner needs to have room to show learning
DEFAULT_AMOUNT = 100


class PrincipleOffers(BaseModel):
    """The assistant's offers under one prior principle: sampled shares and the exact ones."""

    prior: str
    principle: str
    shares: list[float] = Field(description="offer / amount per seed that parsed, in seed order.")
    parse_failures: int
    mean: Estimate = Field(description="Mean sampled share with its Student-t 95% CI.")
    exact_share: float | None = Field(
        None, description="Expected share under the model's own distribution (None: cannot score).")
    p_below_third: float | None = Field(None, description="P(share < 1/3) under that distribution.")


class SteerabilityResult(BaseModel):
    """Offers per principle, the separation altruistic − selfish with its CI, and the verdict."""

    model: str
    task: str
    amount: int
    currency: str
    seeds: int
    threshold: float
    principles: list[PrincipleOffers]
    separation: float | None = Field(description="Mean sampled share, altruistic − selfish.")
    ci_low: float | None = None
    ci_high: float | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def steerable(self) -> bool:
        """The CI's lower bound clears the threshold: the principle moves the offers."""
        return self.ci_low is not None and self.ci_low > self.threshold

    def by_prior(self, prior: str) -> PrincipleOffers:
        return next(p for p in self.principles if p.prior == prior)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> str:
        """One line: `not steerable: altruistic − selfish = +0.04 [−0.09, +0.17] share (...)`."""
        word = "steerable" if self.steerable else "not steerable"
        if self.separation is None or self.ci_low is None or self.ci_high is None:
            return f"{word}: no parsed offers under one of the principles (threshold " \
                   f"{self.threshold:.2f})"
        return (f"{word}: altruistic − selfish = {signed(self.separation)} "
                f"[{signed(self.ci_low)}, {signed(self.ci_high)}] share "
                f"(threshold {self.threshold:.2f})")


def signed(x: float) -> str:
    """+0.04 / −0.09 (a true minus sign, as in the verdict line)."""
    return f"{x:+.2f}".replace("-", "−")


def open_ultimatum(config: ContractConfig, *, cache: bool = True,
                   backend: Backend | None = None, keep_prior: bool = False) -> Ultimatum:
    """The config's ultimatum game with an in-memory step log (nothing is recorded as a run);
    the principle alone is in the prompt unless `keep_prior` (then the config's prior too)."""
    if config.task.type != "ultimatum":
        raise ConfigError(f"steerability is measured on the ultimatum game only (this config's "
                          f"task is {config.task.type!r})")
    pool = ClientPool(config.model, cache=True if cache else None, backend=backend)
    steps = Caller(pool, KeyedLog(None, "step"), config.seed, config.params)
    personas = load_personas(config.personas) if config.personas else load_personas()
    table = Table(steps, config.model, config.user_model or config.model, personas)
    task = config.task.model_copy(update={"keep_prior": keep_prior})
    return task_for(task)(task, table)  # type: ignore[return-value]


async def expected_share(game: Ultimatum, constitution: Constitution, amount: int,
                         currency: str, key: str) -> tuple[float, float]:
    """(expected share, P(share < 1/3)) of the assistant's offer under `constitution`, exact
    from one scoring call (raises ModelError where the backend cannot score)."""
    dist = await game.offer_distribution(constitution, amount, currency, key)
    return (sum(n * p for n, p in dist.items()) / amount,
            sum(p for n, p in dist.items() if 3 * n < amount))


async def exact_shares(game: Ultimatum, amount: int, currency: str,
                       ) -> dict[str, tuple[float, float]] | None:
    """Per prior: (expected share, P(share < 1/3)) from one scoring call each; None where the
    backend cannot score."""
    out: dict[str, tuple[float, float]] = {}
    for prior in PRIORS:
        try:
            out[prior] = await expected_share(game, game.initial_constitution(prior), amount,
                                              currency, f"steer|{prior}|exact")
        except ModelError:
            return None
    return out


async def _measure(game: Ultimatum, seeds: int, amount: int, currency: str,
                   advance: Callable[[int], None]) -> tuple[dict[str, list[int | None]], dict | None]:
    async def one(prior: str, i: int) -> int | None:
        offer = await game.sample_offer(game.initial_constitution(prior), amount, currency,
                                        f"steer|{prior}|s{i}")
        advance(1)
        return offer

    offers = {prior: list(await asyncio.gather(*(one(prior, i) for i in range(seeds))))
              for prior in PRIORS}
    return offers, await exact_shares(game, amount, currency)


def measure_steerability(
    config: ContractConfig, *, seeds: int = 12, amount: int = DEFAULT_AMOUNT,
    threshold: float = DEFAULT_THRESHOLD, cache: bool = True, backend: Backend | None = None,
    progress: bool = True,
) -> SteerabilityResult:
    """Sample `seeds` offers of `amount` under each prior principle (and score them exactly
    where the backend can); the separation altruistic − selfish decides the verdict."""
    game = open_ultimatum(config, cache=cache, backend=backend)
    currency = config.task.currencies[0]  # type: ignore[union-attr]
    with progress_bar(f"steerability {config.model.model}" if progress else None,
                      total=seeds * len(PRIORS)) as advance:
        offers, exact = asyncio.run(_measure(game, seeds, amount, currency, advance))
    rows = []
    for prior in PRIORS:
        shares = [o / amount for o in offers[prior] if o is not None]
        ex = exact[prior] if exact else (None, None)
        rows.append(PrincipleOffers(
            prior=prior, principle=game.prior_text(prior) or "", shares=shares,
            parse_failures=sum(o is None for o in offers[prior]), mean=mean_ci(shares),
            exact_share=ex[0], p_below_third=ex[1]))
    alt, selfish = rows[PRIORS.index("altruistic")].shares, rows[PRIORS.index("selfish")].shares
    ci = bootstrap_diff_ci(alt, selfish, seed=derive_seed(config.seed, "steer|bootstrap"))
    return SteerabilityResult(
        model=config.model.model, task=config.task.type, amount=amount, currency=currency,
        seeds=seeds, threshold=threshold, principles=rows,
        separation=sum(alt) / len(alt) - sum(selfish) / len(selfish) if ci else None,
        ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None)


def steer_warning(config: ContractConfig, *, threshold: float = DEFAULT_THRESHOLD,
                  cache: bool = True, backend: Backend | None = None) -> str | None:
    """The cheap check `scai simulate` makes first: exact expected shares only (three scoring
    calls, cached). The warning line when altruistic − selfish is below `threshold`; None when
    it is not, for other games, and for backends that cannot score."""
    if config.task.type != "ultimatum":
        return None
    game = open_ultimatum(config, cache=cache, backend=backend)
    exact = asyncio.run(exact_shares(game, DEFAULT_AMOUNT, config.task.currencies[0]))  # type: ignore[union-attr]
    if exact is None or exact["altruistic"][0] - exact["selfish"][0] >= threshold:
        return None
    return (f"{config.model.model} is not steerable on this task (expected share selfish "
            f"{exact['selfish'][0]:.2f}, altruistic {exact['altruistic'][0]:.2f}): learning "
            "cannot show in the assistant's offers; see scai steerability")
