"""Configs: YAML files validated by pydantic, with errors a person can act on.

Every config file names its `kind`; each kind's record (scai/kinds.py) names its pydantic model,
and every command loads configs through `scai.kinds.load_config`, so `scai validate` checks
exactly what a run would use. This module holds the kind-independent parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo

from scai.errors import ConfigError

MAX_CONFIG_BYTES = 5_000_000
MAX_ALIASES = 200

M = TypeVar("M", bound=BaseModel)


class ConfigModel(BaseModel):
    """Base of every config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


class _BoundedLoader(yaml.SafeLoader):
    """Safe YAML (no object tags) that refuses alias bombs ('billion laughs')."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases")
        return super().compose_node(parent, index)


def load_yaml(path: Path | str) -> Any:
    """Read a YAML file safely; ConfigError (one line) for a missing, huge or malformed file."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: file not found")
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, expected a YAML file")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_CONFIG_BYTES // 1_000_000} MB")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    return parse_yaml(text, str(path))


def parse_yaml(text: str, where: str = "<string>") -> Any:
    try:
        return yaml.load(text, Loader=_BoundedLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML{at}: {problem}".replace("\n", " ")) from exc


def apply_overrides(data: dict[str, Any], overrides: list[str], where: str = "--set") -> dict:
    """Apply `a.b.c=value` overrides (value parsed as YAML: numbers, booleans, lists)."""
    for item in overrides:
        dotted, sep, raw = item.partition("=")
        if not sep or not dotted.strip():
            raise ConfigError(f"{where} {item!r}: expected KEY.PATH=VALUE")
        value = parse_yaml(raw, f"{where} {item!r}") if raw.strip() else ""
        node: Any = data
        parts = dotted.strip().split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"{where} {item!r}: {part!r} is not an index of the list")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    if not isinstance(node.get(part), (dict, list)):
                        node[part] = {}
                    node = node[part]
            else:
                raise ConfigError(f"{where} {item!r}: {'.'.join(parts[:i])} is not a section")
    return data


def format_validation_error(where: str, exc: ValidationError) -> str:
    """One line: file, field path and problem (plus a count of further problems)."""
    errors = exc.errors()
    first = errors[0]
    loc = ".".join(str(p) for p in first["loc"] if not str(p).startswith("function-")) or "(top)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key (check the spelling; `scai validate` shows every key)"
    elif first["type"] == "missing":
        msg = "required key is missing"
    elif first["type"] == "union_tag_not_found":  # a section whose `type` picks its shape
        tag = str((first.get("ctx") or {}).get("discriminator", "type")).strip("'")
        loc, msg = f"{loc}.{tag}" if loc != "(top)" else tag, "required key is missing"
    elif first["type"] == "union_tag_invalid":
        ctx = first.get("ctx") or {}
        tag = str(ctx.get("discriminator", "type")).strip("'")
        loc = f"{loc}.{tag}" if loc != "(top)" else tag
        msg = f"unknown {tag} {ctx.get('tag')!r} (one of: {ctx.get('expected_tags')})"
    elif first["type"] == "value_error":  # a validator's own sentence already says what is wrong
        msg = msg.removeprefix("Value error, ")
    elif "input" in first and first["type"] not in ("model_type",):
        shown = repr(first["input"])
        msg += f" (got {shown[:60]})"
    more = f" (and {len(errors) - 1} more problem{'s' * (len(errors) > 2)})" if len(errors) > 1 else ""
    return f"{where}: {loc}: {msg}{more}"


def validate_as(
    model: type[M], data: Any, where: str, *, config_dir: Path | None = None
) -> M:
    """Validate data against a config model, turning pydantic's report into one ConfigError line."""
    try:
        return model.model_validate(data, context={"config_dir": config_dir})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(where, exc)) from None
    except ConfigError as exc:  # raised inside a validator (e.g. a bad model string)
        raise ConfigError(f"{where}: {exc}") from None


def read_config(path: Path | str, overrides: list[str] | None = None) -> dict[str, Any]:
    """A config file as a mapping, with `--set` overrides applied (not yet validated)."""
    path = Path(path)
    data = load_yaml(path)
    if data is None:
        raise ConfigError(f"{path}: the file is empty")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top, got {type(data).__name__}")
    return apply_overrides(data, list(overrides or []))


def resolve_path(value: Path | None, info: ValidationInfo) -> Path | None:
    """A relative path in a config means: from the working directory if it exists there, else
    from the config file's own directory (so a config and its data can travel together)."""
    if value is None or value.is_absolute() or value.exists():
        return value
    config_dir = (info.context or {}).get("config_dir")
    if config_dir is not None and (Path(config_dir) / value).exists():
        return Path(config_dir) / value
    return value


def to_yaml(config: BaseModel) -> str:
    """The fully resolved config (defaults filled) as YAML."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
