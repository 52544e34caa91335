"""The synthetic interaction logs: determinism, validity, and planted effects measured in the text.

Every planted effect is measured here from the generated text alone (sentence splitting,
word tokens) and compared with `interaction_truth()`, so a generator that drifts from its
documentation fails.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict

import pytest

from biaskit.data.interactions import parse_interactions
from biaskit.errors import ConfigError, DataError
from biaskit.lab import interactions_words as W
from biaskit.lab.interactions import (
    DEFAULT_N,
    assistant_texts,
    generate_interactions,
    interaction_truth,
)

SENTENCE = re.compile(r"(?<=[.!?])\s+")


def tokens(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


@pytest.fixture(scope="module")
def rows():
    return generate_interactions(seed=0)


@pytest.fixture(scope="module")
def truth():
    return interaction_truth()


@pytest.fixture(scope="module")
def turns(rows):
    """(profile, turn index, number of assistant turns, content) per assistant turn."""
    out = []
    for row in rows:
        answers = [m["content"] for m in row["messages"] if m["role"] == "assistant"]
        out += [(row["profile"], i, len(answers), text) for i, text in enumerate(answers)]
    return out


def formulae(truth, kind):
    return {s for by_lang in truth[kind]["age_group"].values() for ss in by_lang.values() for s in ss}


@pytest.fixture(scope="module")
def body(turns, truth):
    """(profile, body sentence) with openings and closings removed, as the truth defines."""
    skip = formulae(truth, "openings") | formulae(truth, "closings")
    return [(p, s) for p, _, _, text in turns for s in SENTENCE.split(text) if s not in skip]


def test_deterministic_for_a_seed_and_different_across_seeds():
    a = json.dumps(generate_interactions(300, seed=3), ensure_ascii=False)
    assert a == json.dumps(generate_interactions(300, seed=3), ensure_ascii=False)
    assert a != json.dumps(generate_interactions(300, seed=4), ensure_ascii=False)


def test_default_size_is_valid(rows):
    assert len(rows) == DEFAULT_N
    convs = parse_interactions(rows, source="lab", salt="s",
                               required_profile=("age_group", "education", "occupation"))
    people = {c.respondent for c in convs}
    assert len(rows) / 3 < len(people) < len(rows)  # 1-3 conversations per respondent
    for row in rows:
        assert set(row) == {"respondent_id", "profile", "messages"}
        assert row["messages"][-1]["role"] == "assistant"


def test_assistant_turns_are_short(turns, truth):
    skip = formulae(truth, "openings") | formulae(truth, "closings")
    for _, _, _, text in turns:
        assert len(text.split()) < 60
        assert len([s for s in SENTENCE.split(text) if s not in skip]) == 2


def test_word_banks_respect_the_generators_limits():
    for lang in W.LANGUAGES:
        for clauses in W.CLAUSES[lang].values():
            assert all(len(c.split()) <= 5 for c in clauses)
        for register in W.FRAMES:
            for frame in W.FRAMES[register][lang]:
                assert len(frame.format(n="x", p="ta").split()) <= 5
        assert sum(len(m.split()) == 1 for m in W.MODIFIERS[lang]) >= 4


def test_planted_words_appear_in_no_shared_bank():
    for lang in W.LANGUAGES:
        shared = {t for bank in (W.CLAUSES[lang].values()) for c in bank for t in tokens(c)}
        shared |= {t for m in W.MODIFIERS[lang] for t in tokens(m)}
        shared |= set(W.CONJUNCTIONS[lang])
        planted = {w for v in W.MARKERS.values() for w in v[lang]}
        planted |= {w for reg in W.REGISTER_WORDS.values() for w in reg[lang]}
        planted |= {(n if isinstance(n, str) else n[0]) for v in W.TOPIC_NOUNS.values()
                    for n in v[lang]}
        assert not planted & shared, (lang, planted & shared)


def test_markers_at_the_documented_rate_and_never_in_other_groups(body, truth):
    markers = truth["markers_by_language"]["education"]
    hits = defaultdict(lambda: [0, 0])  # (own group, marker group) -> [hits, sentences]
    for profile, sentence in body:
        first = tokens(sentence)[0]
        for value in markers:
            cell = hits[(profile["education"], value)]
            cell[0] += first in markers[value][profile["language"]]
            cell[1] += 1
    for (own, value), (n_hit, n) in hits.items():
        rate = n_hit / n
        if own == value:
            assert abs(rate - truth["marker_rate"]) < 0.03, (own, rate)
        else:
            assert rate == 0, (own, value, rate)


def test_sentence_lengths_match_the_planted_ranges_and_means(body, truth):
    lengths = defaultdict(list)
    for profile, sentence in body:
        lengths[profile["education"]].append(len(sentence.split()))
    planted = truth["sentence_length"]["education"]
    for value, got in lengths.items():
        assert planted[value]["min"] <= min(got) and max(got) <= planted[value]["max"]
        assert abs(statistics.mean(got) - planted[value]["mean"]) < 0.15, value
    means = [statistics.mean(lengths[v]) for v in ("primary", "secondary", "tertiary")]
    assert means[0] + 4 < means[1] and means[1] + 4 < means[2]


def test_register_follows_age_group_in_every_turn(turns, truth):
    words = truth["register_words"]
    for profile, _, _, text in turns:
        lang, found = profile["language"], set(tokens(text))
        register = truth["register"]["age_group"][profile["age_group"]]
        other = "formal" if register == "informal" else "informal"
        assert found & set(words[register][lang]), text
        assert not found & set(words[other][lang]), text


def test_openings_and_closings_belong_to_the_age_group(turns, truth):
    openings, closings = truth["openings"]["age_group"], truth["closings"]["age_group"]
    for profile, index, count, text in turns:
        lang, age = profile["language"], profile["age_group"]
        sentences = SENTENCE.split(text)
        assert (sentences[0] in openings[age][lang]) == (index == 0)
        assert (sentences[-1] in closings[age][lang]) == (index == count - 1)
        others = {s for a in openings if a != age for s in openings[a][lang] + closings[a][lang]}
        assert not set(sentences) & others


def test_topic_nouns_follow_occupation(turns, truth):
    topics = truth["topics"]["occupation"]
    for profile, _, _, text in turns:
        lang, found = profile["language"], set(tokens(text))
        for code, nouns in topics.items():
            n_found = len(found & set(nouns[lang]))
            assert n_found == (1 if code == profile["occupation"] else 0), (code, text)
    assert truth["topic_rate"] == 1.0


def test_controls_carry_no_planted_difference(body, truth):
    # Within an education group (the field that sets length and markers), the controls
    # change neither the sentence length nor the marker rate beyond sampling noise.
    markers = truth["markers_by_language"]["education"]
    for control in truth["controls"]:
        cells = defaultdict(list)
        for p, sentence in body:
            marked = tokens(sentence)[0] in markers[p["education"]][p["language"]]
            cells[(p["education"], p[control])].append((len(sentence.split()), marked))
        for education in markers:
            stats = [(statistics.mean(n for n, _ in v), statistics.mean(m for _, m in v))
                     for (e, _), v in cells.items() if e == education]
            assert max(s[0] for s in stats) - min(s[0] for s in stats) < 0.4, control
            assert max(s[1] for s in stats) - min(s[1] for s in stats) < 0.08, control


def test_truth_lists_fields_and_restricts_languages(rows):
    truth = interaction_truth(["fr"])
    assert truth["languages"] == ["fr"] and truth["fields"]["language"] == ["fr"]
    assert set(truth["markers_by_language"]["education"]["primary"]) == {"fr"}
    assert truth["markers"]["education"]["tertiary"] == ["certes", "notamment"]
    for field, values in interaction_truth()["fields"].items():
        assert {r["profile"][field] for r in rows} == set(values)
    assert {r["profile"]["language"] for r in generate_interactions(50, languages=["fr"])} == {"fr"}
    with pytest.raises(ConfigError, match="en, es, fr"):
        generate_interactions(10, languages=["de"])
    with pytest.raises(ConfigError):
        generate_interactions(0)


def test_assistant_texts_are_tidy_rows(rows):
    flat = assistant_texts(rows[:5])
    n = sum(m["role"] == "assistant" for r in rows[:5] for m in r["messages"])
    assert len(flat) == n
    assert {"text", "conversation", "turn", "education", "age_group", "language"} <= set(flat[0])


def test_lab_reference_loads_without_building_the_lab(tmp_path, monkeypatch, rows):
    from biaskit.data import read_rows
    from biaskit.data.interactions import read_interactions
    from biaskit.lab import load_lab_dataset
    from biaskit.recipes.data import load_rows, resolve_data_ref

    monkeypatch.setenv("BIASKIT_CACHE", str(tmp_path / "cache"))
    assert resolve_data_ref("lab:interactions", tmp_path) == "lab:interactions"
    assert read_rows("lab:interactions") == rows
    assert load_lab_dataset("interactions", seed=1) == generate_interactions(seed=1)
    assert len(load_rows("lab:interactions", limit=10)) == 10
    assert len(read_interactions("lab:interactions")) == DEFAULT_N
    assert not (tmp_path / "cache").exists()  # no lab build was started
    with pytest.raises(DataError, match="interactions"):
        load_lab_dataset("no_such_dataset")
