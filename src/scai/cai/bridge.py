"""The bridge between the two halves of scai: a constitution learned by a Social Contract run
(`scai simulate`), read from the run store, as principles for critique and revision."""

from __future__ import annotations

from scai.cai.data import Constitution, Principle
from scai.contract.constitution import learned_constitution
from scai.errors import ConfigError
from scai.store import RunStore


def constitution_from_run(store: RunStore, ref: str) -> Constitution:
    """The last constitution a contract run arrived at, each principle turned into a critique
    instruction and a revision instruction."""
    where = f"--constitution-from {ref}"
    learned = learned_constitution(store, ref, where=where)
    texts = [t.strip() for t in learned.constitution.principles if t.strip()]
    if not texts:
        raise ConfigError(f"{where}: its last constitution ({learned.key}) is empty")
    return Constitution(
        name=f"learned by {learned.run_id}", version=learned.key,
        author=f"scai simulate run {learned.run_id}",
        principles=[Principle(
            id=f"learned_{i}",
            critique=f"Identify specific ways in which the response does not follow this "
                     f"principle: {text}",
            revision=f"Rewrite the response so that it follows this principle: {text}",
        ) for i, text in enumerate(texts, 1)],
    )
