"""Battery files: expansion to the full grid, per-language values, and clear errors."""

from __future__ import annotations

import json

import pytest

from biaskit.errors import ConfigError, DataError
from biaskit.prompting import battery_from_mapping, battery_from_rows, load_battery
from biaskit.prompting.battery import resolve_battery_path

SPEC = {
    "name": "t",
    "repeats": 3,
    "variables": {"age": [30, 70], "edu": ["low", "high"], "area": ["city", "rural", "coast"]},
    "values": {"edu": {"low": {"en": "school", "es": "la escuela"}, "high": {"en": "college"}}},
    "system": {"en": "Be {age}.", "es": "Ten {age}."},
    "templates": [
        {"id": "a", "text": {"en": "I am {age}, studied {edu}.", "es": "Tengo {age}, estudié {edu}."}},
        {"id": "b", "text": "Life in the {area}?", "language": "en", "system": None},
    ],
}


def test_grid_crosses_only_the_variables_a_template_uses():
    b = battery_from_mapping(SPEC)
    # a: 2 ages x 2 edu x 2 languages; b: 3 areas x 1 language (area is not crossed into a)
    assert len(b.prompts) == 2 * 2 * 2 + 3
    assert b.repeats == 3 and b.name == "t"
    assert len({p.id for p in b.prompts}) == len(b.prompts)
    first = b.prompts[0]
    assert first.id == "a|en|age=30|edu=low"
    assert first.text == "I am 30, studied school." and first.system == "Be 30."
    assert first.variables == {"age": 30, "edu": "low"}
    es_high = next(p for p in b.prompts if p.language == "es" and p.variables["edu"] == "high")
    assert es_high.text.endswith("estudié high.")  # no Spanish label given: the raw value
    assert [p.text for p in b.prompts if p.template == "b"] == [
        "Life in the city?", "Life in the rural?", "Life in the coast?"]
    assert all(p.system is None for p in b.prompts if p.template == "b")
    assert b.variables == ["age", "edu", "area"]


def test_languages_filter_and_repeats_override(tmp_path):
    import yaml

    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump({**SPEC, "languages": ["es"]}), encoding="utf-8")
    b = load_battery(path, repeats=5)
    assert {p.language for p in b.prompts} == {"es"} and len(b.prompts) == 4 and b.repeats == 5


@pytest.mark.parametrize("change, message", [
    ({"temlates": []}, "unknown key 'temlates'"),
    ({"templates": [{"id": "x", "text": "{nope}", "language": "en"}]}, "uses {nope} but no variable 'nope'"),
    ({"repeats": 0}, "repeats must be a positive integer"),
    ({"variables": {"text": ["a"]}}, "'text' is an output column"),
    ({"templates": [{"id": "x", "text": "a"}, {"id": "x", "text": "b"}]}, "two templates have id"),
    ({"templates": [{"id": "x", "text": {"fr": "Vive {age}"}}]}, "has no 'fr' version"),
])
def test_bad_batteries_fail_with_one_clear_message(change, message):
    with pytest.raises(ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        battery_from_mapping({**SPEC, **change})


def test_jsonl_battery(tmp_path):
    path = tmp_path / "b.jsonl"
    rows = [{"id": "q1", "text": "As a {role}, what do you eat?", "role": "nurse", "language": "en"},
            {"id": "q2", "text": "Como {role}, ¿qué comes?", "role": "enfermera", "language": "es"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    b = load_battery(path)
    assert [p.text for p in b.prompts] == ["As a nurse, what do you eat?", "Como enfermera, ¿qué comes?"]
    assert b.prompts[1].variables == {"role": "enfermera"} and b.prompts[1].language == "es"
    with pytest.raises(DataError, match="prompt id 'q1' occurs twice"):
        battery_from_rows([rows[0], rows[0]])
    (tmp_path / "bad.jsonl").write_text('{"text": "a"}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match="bad.jsonl:2: invalid JSON"):
        load_battery(tmp_path / "bad.jsonl")


def test_bundled_example_battery():
    path = resolve_battery_path("data/batteries/survey_personas.yaml")
    b = load_battery(path)
    assert {p.language for p in b.prompts} == {"en", "es", "fr"}
    assert len(b.prompts) == 3 * (8 + 4 + 2)  # per language: trust 2x2x2, housework 2x2, neighbours 2
    assert all("{" not in p.text and p.system for p in b.prompts)
    with pytest.raises(DataError, match="does not exist"):
        resolve_battery_path("data/batteries/nope.yaml")
