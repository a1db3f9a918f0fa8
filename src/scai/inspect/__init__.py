"""scai in Inspect AI (the `inspect` extra): tasks and a model provider, registered through
Inspect's package entry point (`scai.inspect.registry`), and scai bench runs as Inspect logs.

    inspect eval scai/reflectivity --model scai/local --limit 5
    inspect eval scai/cai_redteam --model openai/gpt-4o-mini --model-role grader=scai/local
    inspect view

Nothing here is imported by the rest of scai except on demand (`scai bench run --inspect-log`).
"""

from importlib.util import find_spec

from scai.errors import ConfigError


def require_inspect() -> None:
    """Raise a one-line ConfigError when Inspect AI is not installed."""
    if find_spec("inspect_ai") is None:
        raise ConfigError("Inspect AI is not installed: pip install 'scai[inspect]'")
