"""Typed configs: pydantic models are the config, YAML is only their serialisation.

Every stage config subclasses `StrictModel` (unknown keys are an error that names the
valid ones). `load_config` reads YAML, applies CLI overrides, and turns validation errors
into one-line `ConfigError`s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from radllama.core.errors import ConfigError

T = TypeVar("T", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for all configs: unknown keys are rejected, values validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def _one_line(error: ValidationError, cls: type[BaseModel], source: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(root)"
    if first["type"] == "missing":
        flag = "--" + where.replace("_", "-")
        return f"{source}: '{where}' is required; pass {flag} or set '{where}:' in the config"
    if first["type"] == "extra_forbidden":
        valid = ", ".join(sorted(cls.model_fields))
        return f"{source}: unknown config key '{where}'; valid keys are [{valid}]"
    return f"{source}: invalid value for '{where}': {first['msg']}; fix it in the config"


def validate_config(cls: type[T], data: dict[str, Any], source: str = "config") -> T:
    """Build `cls` from a dict, mapping validation errors to a one-line ConfigError."""
    try:
        return cls.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_one_line(error, cls, source)) from None


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}; pass the path of a YAML config")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(
            f"{path}: not valid YAML ({error.__class__.__name__}); fix the syntax"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of config keys")
    return data


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    none_clears: bool = False,
) -> T:
    """YAML file (optional) + overrides -> validated config object.

    A None override is skipped (a CLI option that was not given), unless `none_clears`: then
    it sets the key to None, e.g. to switch off a recipe's `eval_steps` from code.
    """
    data = read_yaml(path) if path else {}
    for key, value in (overrides or {}).items():
        if value is not None or none_clears:
            data[key] = value
    return validate_config(cls, data, source=str(path) if path else "options")


def dump_config(config: BaseModel) -> str:
    """YAML serialisation of a config (round-trips through `load_config`)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
