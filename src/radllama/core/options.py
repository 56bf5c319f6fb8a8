"""CLI options generated from a stage's Config: one source of defaults and help.

`config_options(Cls)` decorates a typer command: every field of `Cls` whose type a command
line can carry (str, int, float, bool, Path, Literal, lists of those, optionals of those)
becomes an option named after the field (`max_new_tokens` -> `--max-new-tokens`), with the
field's description as its help and the field's default shown, not restated. The options
default to "not given", so a YAML config and the Config's own defaults decide whatever the
user did not type. The command receives the given values as `options: dict[str, Any]` and
builds its Config with `load_config`/`validate_config`, as TRL's `TrlParser` does with its
dataclasses::

    @app.command()
    @config_options(ServeConfig)
    def serve(model_dir: Annotated[Path, typer.Argument()], options: dict[str, Any]) -> None:
        run_server(model_dir, validate_config(ServeConfig, options, source="options"))

Nested models and dicts stay YAML-only. A hand-written parameter with a field's name is an
error at import time: it would restate the field's default and help.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

SCALARS: tuple[type, ...] = (str, int, float, bool, Path)
CONFIG_ATTRIBUTE = "__radllama_config__"
CONFIG_LAYERS_ATTRIBUTE = "__radllama_config_layers__"  # prefixed Configs of one command


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0]
        return str  # e.g. bool | Literal["auto"]: the Config parses the text
    return annotation


def cli_type(annotation: Any) -> tuple[Any, str] | None:
    """(type typer parses, extra help) for a field type; None when a command line cannot carry it."""
    annotation = _strip_optional(annotation)
    if get_origin(annotation) is Literal:
        return str, "one of: " + ", ".join(str(choice) for choice in get_args(annotation))
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (str,)
        inner = cli_type(item)
        if inner is None or get_origin(inner[0]) is list:
            return None
        extra = "; ".join(part for part in (inner[1], "repeat or separate with commas") if part)
        return list[inner[0]], extra  # type: ignore[valid-type]
    if annotation in SCALARS:
        return annotation, ""
    return None


def _default_text(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    default = field.get_default(call_default_factory=True)
    if default is None or default == []:
        return ""
    if isinstance(default, list):
        default = ",".join(str(item) for item in default)
    return f"default: {default}"


def option_help(field: FieldInfo, extra: str = "") -> str:
    """The field's description, its choices and its default, as one help line."""
    notes = "; ".join(part for part in (extra, _default_text(field)) if part)
    text = (field.description or "").strip()
    return f"{text} ({notes})" if notes else text  # not [..]: rich help reads it as markup


def _option_names(name: str, kind: Any, rename: str | None) -> tuple[str, ...]:
    flag = rename or "--" + name.replace("_", "-")
    if kind is bool:
        return (f"{flag}/--no-{flag.removeprefix('--')}",)
    return (flag,)


def _split_commas(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, str):
            out.extend(part.strip() for part in value.split(",") if part.strip())
        else:
            out.append(value)
    return out


def config_options(
    config_cls: type[BaseModel],
    *,
    exclude: Iterable[str] = (),
    only: Iterable[str] | None = None,
    rename: Mapping[str, str] | None = None,
    prefix: str = "",
    into: str = "options",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: add one option per CLI-expressible field of `config_cls` (see module doc).

    `exclude`: fields the command sets itself (e.g. from an argument) or keeps YAML-only;
    `only`: these fields and no others. `rename`: field -> option name where the command line
    has a shorter one (`--out`). `prefix`: options of a second Config of the same command are
    `--{prefix}-{field}` (parameters `{prefix}_{field}`), so decorators stack without clashing,
    each handing its values to the command as the keyword `into`::

        @config_options(EvaluateConfig)                        # --metrics -> options
        @config_options(JudgeConfig, prefix="judge", into="judge_options")  # --judge-model
        def evaluate(options: dict[str, Any], judge_options: dict[str, Any]) -> None: ...
    """
    excluded = set(exclude)
    if only is not None:
        excluded |= set(config_cls.model_fields) - set(only)
    renames = dict(rename or {})
    unknown = (excluded | set(renames) | set(only or ())) - set(config_cls.model_fields)
    if unknown:
        raise TypeError(f"{config_cls.__name__} has no fields {sorted(unknown)}")

    def parameter_name(field_name: str) -> str:
        return f"{prefix}_{field_name}" if prefix else field_name

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(func)
        hints = typing.get_type_hints(func, include_extras=True)
        if into not in signature.parameters:
            raise TypeError(f"{func.__name__} takes no `{into}` parameter for its options")
        own = [
            parameter.replace(annotation=hints.get(parameter.name, parameter.annotation))
            for parameter in signature.parameters.values()
            if parameter.name != into
        ]
        fields = set(config_cls.model_fields) - excluded
        restated = {p.name for p in own} & {parameter_name(name) for name in fields}
        if restated:
            raise TypeError(
                f"{func.__name__}: parameters {sorted(restated)} restate {config_cls.__name__} "
                "fields; drop them (the generated options carry the field) or exclude the fields"
            )
        generated: list[inspect.Parameter] = []
        lists: set[str] = set()
        field_of: dict[str, str] = {}  # parameter name -> field name
        for name, field in config_cls.model_fields.items():
            if name in excluded or (mapped := cli_type(field.annotation)) is None:
                continue
            kind, extra = mapped
            if get_origin(kind) is list:
                lists.add(name)
            option = typer.Option(
                *_option_names(parameter_name(name), kind, renames.get(name)),
                help=option_help(field, extra),
            )
            field_of[parameter_name(name)] = name
            generated.append(
                inspect.Parameter(
                    parameter_name(name),
                    inspect.Parameter.KEYWORD_ONLY,
                    default=None,
                    annotation=Annotated[kind | None, option],
                )
            )

        @functools.wraps(func)
        def command(**kwargs: Any) -> Any:
            given = {field_of[name]: kwargs.pop(name) for name in field_of}
            options = {
                name: _split_commas(value) if name in lists else value
                for name, value in given.items()
                if value is not None
            }
            return func(**kwargs, **{into: options})

        parameters = own + generated
        command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        layer = (config_cls, frozenset(field_of.values()), dict(renames), prefix)
        if prefix:  # the command's own Config is the unprefixed one
            layers = getattr(func, CONFIG_LAYERS_ATTRIBUTE, ())
            setattr(command, CONFIG_LAYERS_ATTRIBUTE, (*layers, layer))
        else:
            setattr(command, CONFIG_ATTRIBUTE, layer[:3])
        return command

    return decorate
