"""The dictator game: a proposer splits an amount with a recipient who has no veto.

Everything about proposing is the ultimatum game's (its society, pairings, scripted and LLM
proposers, the assistant's prompt with its prior, the offer distribution the bayes learner reads);
only the decision is gone, so an offer is final and the payoffs follow from it. Metrics add each
user group's own share and the assistant's gap to it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel

from scai.contract.constitution import Constitution
from scai.contract.episode import Episode, Player
from scai.contract.tasks.base import Panel
from scai.contract.tasks.society import Group, group_label
from scai.contract.tasks.split_config import SplitTask
from scai.contract.tasks.ultimatum import Ultimatum
from scai.errors import ConfigError


class DictatorTask(SplitTask):
    """The dictator game: a proposer splits an amount; the recipient cannot refuse."""

    type: Literal["dictator"] = "dictator"


class DictatorOutcome(BaseModel):
    """One game: the split on the table, who gave, who received, the offer and the payoffs."""

    amount: int
    currency: str
    proposer: Player
    recipient: Player
    offer: int | None = None
    share: float | None = None
    payoff_proposer: int = 0
    payoff_recipient: int = 0
    message: str | None = None
    offer_reason: str | None = None

    # What the bayes learner's evidence reads of a split game: the partner, and no decision.
    @property
    def responder(self) -> Player:
        return self.recipient

    @property
    def decision(self) -> None:
        return None


Gift = Episode[DictatorOutcome]


def _mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def dictator_metrics(games: list[Gift], groups: Sequence[Group]) -> dict[str, float | None]:
    """Shares given by flexible vs fixed proposers and by each user group (`share:GROUP`), the
    assistant's gap to each group that gave this epoch (`gap:GROUP`), incomes, the recipients'
    payoff."""
    share: dict[str, list[float]] = {"flexible": [], "fixed": []}
    by_group: dict[str, list[float]] = defaultdict(list)
    income: dict[str, list[float]] = {"flexible": [], "fixed": []}
    received: list[float] = []
    failures = 0
    for g in games:
        d = g.data
        failures += len(g.failures)
        if d.share is None:
            continue
        share[d.proposer.kind].append(d.share)
        if d.proposer.kind == "fixed":
            by_group[group_label(d.proposer, groups)].append(d.share)
        income[d.proposer.kind].append(d.payoff_proposer / d.amount)
        income[d.recipient.kind].append(d.payoff_recipient / d.amount)
        received.append(d.payoff_recipient / d.amount)
    flex, fixed = _mean(share["flexible"]), _mean(share["fixed"])
    out: dict[str, float | None] = {
        "share_flexible": flex,
        "share_fixed": fixed,
        "gap": abs(flex - fixed) if flex is not None and fixed is not None else None,
        "recipient_payoff": _mean(received),
        "income_flexible": _mean(income["flexible"]),
        "income_fixed": _mean(income["fixed"]),
    }
    for label in sorted(by_group):
        norm = _mean(by_group[label])
        out[f"share:{label}"] = norm
        out[f"gap:{label}"] = abs(flex - norm) if flex is not None and norm is not None else None
    return {**out, "games": float(len(games)), "parse_failures": float(failures)}


class Dictator(Ultimatum):
    """Plays the dictator games of one run (the ultimatum game without the responder's say)."""

    type = "dictator"
    config = DictatorTask  # type: ignore[assignment]
    outcome = DictatorOutcome
    game_words = ("dictator", "game", "proposer", "recipient")
    shown = ("share_flexible", "share_fixed", "gap", "recipient_payoff", "income_flexible",
             "income_fixed", "parse_failures")
    brief = ("share_flexible", "share_fixed", "gap", "income_flexible", "parse_failures")
    panels = (
        Panel("offered_share", "offered share", "share given to the recipient",
              {"assistant (flexible)": "share_flexible", "users (fixed)": "share_fixed"}, True),
        Panel("share_by_group", "share given by each user group", "share given",
              {"assistant (flexible)": "share_flexible"}, True, prefix="share:"),
        Panel("gap_by_group", "assistant's gap to each group's share", "|assistant - group|",
              {}, True, prefix="gap:"),
        Panel("income", "income", "share of the amount ended with",
              {"assistant (flexible)": "income_flexible", "users (fixed)": "income_fixed"}, True),
    )
    summary_plot = "offered_share"
    paper_metric = None
    cfg: DictatorTask  # type: ignore[assignment]

    def metrics(self, episodes):
        return dictator_metrics(episodes, self.cfg.groups)

    def score_text(self, metrics):
        flex, fixed = metrics.get("share_flexible"), metrics.get("share_fixed")
        parts = []
        if flex is not None:
            parts.append(f"assistant gave {flex:.0%} of amounts on average")
        if fixed is not None:
            parts.append(f"people gave {fixed:.0%}")
        return ", ".join(parts) or "no finished splits"

    @classmethod
    def headline(cls, episode: Gift) -> str:  # type: ignore[override]
        d = episode.data
        gave = f"gives {d.recipient.name} {d.offer}" if d.offer is not None else "gives nothing valid"
        return f"{d.proposer.name} {gave} of {d.amount} {d.currency}"

    @classmethod
    def eval_variants(cls, cfg):
        raise ConfigError("evaluate-constitution: the dictator task has no out-of-distribution "
                          "variants; the --task config must be an ultimatum task")

    def _propose_prompt(self, amount: int, currency: str, partner: str, reason: bool) -> str:
        return self.prompts["dictator_propose"].render(
            amount=amount, currency=currency, partner=partner,
            reason=self.prompts["reason_field"].render() if reason else "",
            message=self.prompts["propose_message"].render() if self.cfg.messages else ".")

    async def accept_probability(self, constitution: Constitution, amount: int, currency: str,
                                 offer: int, key: str, partner: str = "Sam") -> float:
        """1: the recipient has no veto, every split stands (what the bayes learner asks)."""
        return 1.0

    async def play(self, epoch: int, g: int, amount: int, currency: str,  # type: ignore[override]
                   proposer: Player, recipient: Player, constitution: Constitution) -> Gift:
        """One game: an offer, final as made; a failed reply voids it."""
        game = Gift(id=f"e{epoch}-g{g}", epoch=epoch, task="dictator", data=DictatorOutcome(
            amount=amount, currency=currency, proposer=proposer, recipient=recipient))
        offer, message = await self._offer(game, f"e{epoch}|g{g}", proposer, recipient,  # type: ignore[arg-type]
                                           constitution)
        if offer is None:
            game.say("referee", "outcome", "No valid offer; the game is void.")
            return game
        d = game.data
        d.offer, d.share, d.message = offer, offer / amount, message
        d.payoff_proposer, d.payoff_recipient = amount - offer, offer
        said = f' and says: "{message}"' if message else ""
        game.say(proposer.name, "proposer",
                 f"{proposer.name} gives {recipient.name} {offer} of {amount} {currency}{said}")
        game.say("referee", "outcome", f"{recipient.name} gets {offer}; {proposer.name} keeps "
                 f"{amount - offer}.")
        return game
