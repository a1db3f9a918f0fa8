"""The bridge between the two halves of scai: a constitution learned by a Social Contract run
(`scai simulate`), read from the run store, as principles for critique and revision."""

from __future__ import annotations

from scai.cai.data import Constitution, Principle
from scai.errors import ConfigError
from scai.store import RunStore


def constitution_from_run(store: RunStore, ref: str) -> Constitution:
    """The last constitution a contract run arrived at, each principle turned into a critique
    instruction and a revision instruction."""
    info = store.get(ref)
    if info.kind != "contract":
        raise ConfigError(f"--constitution-from {ref}: run {info.id} is a {info.kind} run, "
                          "not a Social Contract (`scai simulate`) run")
    learned = [e for e in store.events(info.id, "constitution") if e.key]
    if not learned:
        raise ConfigError(f"--constitution-from {ref}: run {info.id} has no constitution yet")
    last = max(learned, key=lambda e: int(e.key[1:]) if e.key[1:].isdigit() else -1)
    texts = [t.strip() for t in last.payload.get("principles", []) if isinstance(t, str) and t.strip()]
    if not texts:
        raise ConfigError(f"--constitution-from {ref}: its last constitution ({last.key}) is empty")
    return Constitution(
        name=f"learned by {info.id}", version=str(last.key), author=f"scai simulate run {info.id}",
        principles=[Principle(
            id=f"learned_{i}",
            critique=f"Identify specific ways in which the response does not follow this "
                     f"principle: {text}",
            revision=f"Rewrite the response so that it follows this principle: {text}",
        ) for i, text in enumerate(texts, 1)],
    )
