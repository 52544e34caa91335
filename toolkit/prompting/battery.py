"""Prompt batteries: templates x variables x languages, expanded into a grid of prompts.

A social-science survey asks the same question of many personas; a battery does the same
to a model. A YAML battery names its variables once and crosses them in each template
(only the variables a template uses, so no prompt is repeated); a JSONL battery lists
prompts already expanded, one per line. Both give the same `Battery`: a tuple of `Prompt`
records carrying every variable, so the generations can be analysed by any of them.

YAML keys: `name`, `description`, `repeats` (samples per prompt), `languages` (keep only
these), `system` (a system message, a string or one per language), `variables` (name ->
list of values), `values` (how a value is written in each language:
`{variable: {value: {en: .., es: ..}}}`), and `templates` (each with `id` and `text`, a
string or one per language; optional `language` for a plain string, and `variables` that
override the battery's for this template). See docs/prompting.md.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from biaskit.data.tables import read_jsonl
from biaskit.errors import ConfigError, DataError

BATTERY_KEYS = ("name", "description", "repeats", "languages", "system", "variables", "values",
                "templates")
TEMPLATE_KEYS = ("id", "text", "language", "variables", "system")
#: Output columns a battery variable may not be named after.
RESERVED = ("battery", "prompt_id", "template", "language", "variant", "sample", "seed", "system",
            "prompt", "text", "n_tokens", "finish_reason")
ROW_KEYS = ("id", "text", "template", "language", "system")  # JSONL keys that are not variables
NO_LANGUAGE = "und"  # ISO 639 "undetermined", for a template given as one plain string


@dataclass(frozen=True)
class Prompt:
    """One expanded prompt.

    Attributes:
        id: Stable identifier: template, language and variable values (also the seed key).
        template: The template's id.
        language: Language code (`und` when the battery does not say).
        text: The user message, variables filled in.
        system: The system message, or None.
        variables: Variable name -> value as written in the battery (not translated).
    """

    id: str
    template: str
    language: str
    text: str
    system: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Battery:
    """A grid of prompts and how many samples to draw for each.

    Attributes:
        name: The battery's name (a column of the output).
        prompts: The expanded prompts, in template, language, variable order.
        repeats: Samples per prompt and variant.
        source: The file it was read from.
        description: Free text.
    """

    name: str
    prompts: tuple[Prompt, ...]
    repeats: int = 1
    source: str = ""
    description: str = ""

    @property
    def variables(self) -> list[str]:
        """Every variable name used by some prompt, in first-seen order."""
        return list(dict.fromkeys(k for p in self.prompts for k in p.variables))


def resolve_battery_path(path: str | Path) -> Path:
    """The battery file: `path` itself, else (for `data/...`) biaskit's bundled copy."""
    p = Path(path).expanduser()
    if p.exists():
        return p
    text = str(path)
    if text.startswith("data/"):
        from biaskit.recipes.bundled import bundled_data_dir

        root = bundled_data_dir()
        if root is not None and (root / text[len("data/"):]).exists():
            return root / text[len("data/"):]
    raise DataError(f"battery file {text!r} does not exist")


def load_battery(path: str | Path, *, repeats: int | None = None) -> Battery:
    """Read a YAML (`.yaml`/`.yml`) or JSONL battery and expand it.

    Args:
        path: The file (`data/batteries/...` also finds biaskit's bundled batteries).
        repeats: Override the battery's samples per prompt.

    Raises:
        ConfigError: An unknown key, a placeholder with no variable, a bad `repeats`.
        DataError: A missing file or a malformed JSONL line.
    """
    p = resolve_battery_path(path)
    if p.suffix.lower() in (".yaml", ".yml"):
        from biaskit.configs import read_yaml

        battery = battery_from_mapping(read_yaml(p), source=str(p), default_name=p.stem)
    elif p.suffix.lower() == ".jsonl":
        battery = battery_from_rows(read_jsonl(p), source=str(p), name=p.stem)
    else:
        raise DataError(f"cannot read battery {str(path)!r}: use .yaml, .yml or .jsonl")
    if repeats is not None:
        battery = Battery(battery.name, battery.prompts, _repeats(repeats, str(p)), battery.source,
                          battery.description)
    return battery


def battery_from_mapping(data: Mapping[str, Any], *, source: str = "<battery>",
                         default_name: str = "battery") -> Battery:
    """Expand a YAML-style battery mapping (see the module docstring)."""
    _check_keys(data, BATTERY_KEYS, source, "battery")
    templates = data.get("templates")
    if not isinstance(templates, list) or not templates:
        raise ConfigError(f"{source}: `templates` must be a non-empty list")
    variables = _variables(data.get("variables") or {}, source, "variables")
    values = data.get("values") or {}
    if not isinstance(values, Mapping):
        raise ConfigError(f"{source}: `values` must map variable -> value -> language -> text")
    keep = data.get("languages")
    if keep is not None and (not isinstance(keep, list) or not keep):
        raise ConfigError(f"{source}: `languages` must be a non-empty list of language codes")
    for k, tpl in enumerate(templates):
        if not isinstance(tpl, Mapping):
            raise ConfigError(f"{source}: templates[{k}] must be a mapping with id and text")
        _check_keys(tpl, TEMPLATE_KEYS, source, f"templates[{k}]")
    ids = [str(tpl.get("id", f"t{k + 1}")) for k, tpl in enumerate(templates)]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{source}: two templates have id {next(i for i in ids if ids.count(i) > 1)!r}")
    prompts: list[Prompt] = []
    for tid, tpl in zip(ids, templates, strict=True):
        texts = _per_language(tpl.get("text"), tpl.get("language"), source, f"template {tid!r} text")
        system = tpl.get("system", data.get("system"))
        local = {**variables, **_variables(tpl.get("variables") or {}, source, f"template {tid!r} variables")}
        for lang, text in texts.items():
            if keep is not None and lang not in keep:
                continue
            sys_text = _pick_language(system, lang, source, f"template {tid!r} system")
            names = _placeholders(text) | _placeholders(sys_text or "")
            missing = sorted(names - set(local))
            if missing:
                raise ConfigError(f"{source}: template {tid!r} ({lang}) uses {{{missing[0]}}} but no "
                                  f"variable {missing[0]!r} is defined")
            used = [v for v in local if v in names]  # battery order, not text order
            for combo in itertools.product(*(local[v] for v in used)):
                raw = dict(zip(used, combo, strict=True))
                shown = {v: _render_value(values, v, val, lang) for v, val in raw.items()}
                pid = "|".join([tid, lang, *(f"{v}={raw[v]}" for v in used)])
                prompts.append(Prompt(id=pid, template=tid, language=lang, text=text.format(**shown),
                                      system=sys_text.format(**shown) if sys_text else None,
                                      variables=raw))
    if not prompts:
        raise ConfigError(f"{source}: no prompt left (check `languages`)")
    return Battery(name=str(data.get("name") or default_name), prompts=tuple(prompts),
                   repeats=_repeats(data.get("repeats", 1), source), source=source,
                   description=str(data.get("description") or ""))


def battery_from_rows(rows: Sequence[Mapping[str, Any]], *, source: str = "<battery>",
                      name: str = "battery", repeats: int = 1) -> Battery:
    """A battery from already expanded rows, one prompt each (the JSONL format).

    Each row has `text` (placeholders filled from the row's own keys) and optionally `id`,
    `template`, `language` and `system`; every other key is a variable.
    """
    if not rows:
        raise DataError(f"{source}: no prompts")
    prompts = []
    for i, row in enumerate(rows):
        if "text" not in row:
            raise DataError(f"{source}:{i + 1}: a battery line needs a `text` key")
        variables = {k: v for k, v in row.items() if k not in ROW_KEYS}
        clash = [k for k in variables if k in RESERVED]
        if clash:
            raise DataError(f"{source}:{i + 1}: {clash[0]!r} is an output column; rename the key")
        shown = {k: str(v) for k, v in variables.items()}
        try:
            text = str(row["text"]).format(**shown)
            system = str(row["system"]).format(**shown) if row.get("system") else None
        except (KeyError, IndexError, ValueError) as exc:
            raise DataError(f"{source}:{i + 1}: cannot fill the text's placeholders ({exc})") from None
        pid = str(row.get("id", i + 1))
        prompts.append(Prompt(id=pid, template=str(row.get("template", pid)),
                              language=str(row.get("language", NO_LANGUAGE)), text=text, system=system,
                              variables=variables))
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise DataError(f"{source}: prompt id {dup!r} occurs twice (ids key the sampling seeds)")
    return Battery(name=name, prompts=tuple(prompts), repeats=_repeats(repeats, source), source=source)


# ----------------------------------------------------------------------------- helpers


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], source: str, where: str) -> None:
    from biaskit.configs import suggest

    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {where} must be a mapping")
    for key in data:
        if key not in allowed:
            raise ConfigError(f"{source}: unknown key {key!r} in {where}{suggest(str(key), allowed)}")


def _variables(data: Any, source: str, where: str) -> dict[str, list[Any]]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {where} must map a variable name to a list of values")
    out = {}
    for name, vals in data.items():
        if name in RESERVED:
            raise ConfigError(f"{source}: {where}: {name!r} is an output column; rename the variable")
        vals = vals if isinstance(vals, list) else [vals]
        if not vals:
            raise ConfigError(f"{source}: {where}: variable {name!r} has no values")
        out[str(name)] = vals
    return out


def _per_language(text: Any, language: Any, source: str, where: str) -> dict[str, str]:
    if isinstance(text, str):
        return {str(language or NO_LANGUAGE): text}
    if isinstance(text, Mapping) and text and all(isinstance(v, str) for v in text.values()):
        return {str(k): v for k, v in text.items()}
    raise ConfigError(f"{source}: {where} must be a string or a mapping language -> string")


def _pick_language(text: Any, lang: str, source: str, where: str) -> str | None:
    if text is None or isinstance(text, str):
        return text
    if isinstance(text, Mapping):
        if lang not in text:
            raise ConfigError(f"{source}: {where} has no {lang!r} version")
        return str(text[lang])
    raise ConfigError(f"{source}: {where} must be a string or a mapping language -> string")


def _render_value(values: Mapping[str, Any], variable: str, value: Any, lang: str) -> str:
    shown = (values.get(variable) or {}).get(value) if isinstance(values.get(variable), Mapping) else None
    if isinstance(shown, Mapping):
        return str(shown.get(lang, value))
    return str(shown if shown is not None else value)


def _placeholders(text: str) -> set[str]:
    try:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}
    except ValueError as exc:
        raise ConfigError(f"bad placeholder in {text!r}: {exc}") from None


def _repeats(value: Any, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{source}: repeats must be a positive integer, got {value!r}")
    return value
