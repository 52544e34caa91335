"""Stylometry: features against hand counts, Burrows' Delta by hand, the classifier on the
lab's synthetic interaction logs (planted markers found; a random split stays at chance)."""

from __future__ import annotations

import csv
import json
import math
import random

import numpy as np
import pytest

from biaskit.analysis.stylometry import StylometryConfig, stylometry_analysis
from biaskit.analysis.stylometry_classify import (
    ClassifierConfig,
    burrows_delta,
    classify_texts,
    delta_matrix,
)
from biaskit.analysis.stylometry_features import (
    FeatureConfig,
    detect_language,
    extract_features,
    function_words,
    mattr,
    sentences,
    text_stats,
    tokenize,
)
from biaskit.errors import ConfigError, DataError

FAST = ClassifierConfig(n_boot=300, permutations=10)

# ---------------------------------------------------------------- features by hand


def test_tokenize_per_language():
    assert tokenize("Don’t stop, Mary! 42 times.", "en") == ["don't", "stop", "mary", "times"]
    assert tokenize("L'homme qu'il voit aujourd'hui.", "fr") == [
        "l'", "homme", "qu'", "il", "voit", "aujourd'", "hui"]
    assert tokenize("¿Qué tal? ¡Muy bien, señora!", "es") == ["qué", "tal", "muy", "bien", "señora"]


def test_sentences():
    assert sentences("One two. Three four five! Six?") == ["One two.", "Three four five!", "Six?"]
    assert sentences("Wait... what «is» it.\nNo") == ["Wait...", "what «is» it.", "No"]
    assert sentences("3.5 is a number. Yes") == ["3.5 is a number.", "Yes"]


def test_text_stats_against_hand_counts():
    s = text_stats("The cat sat. The dog, the cat; and a bird!", "en")
    # tokens: the cat sat the dog the cat and a bird -> 10 words, 7 types, 2 sentences,
    # 29 letters; one each of . , ; !
    assert s["n_words"] == 10 and s["ttr"] == pytest.approx(0.7)
    assert s["mean_sentence_length"] == pytest.approx(5.0)
    assert s["mean_word_length"] == pytest.approx(2.9)
    for mark in ("period", "comma", "semicolon", "exclamation"):
        assert s[f"punct:{mark}"] == pytest.approx(0.1)
    assert s["punct:question"] == s["punct:quote"] == 0.0
    e = text_stats("¿Sí? Bueno... «vale» — ya.", "es")
    # words: sí bueno vale ya (4); ¿ ? -> 2 question marks, one ellipsis (not 3 periods),
    # two guillemets, one dash, one period
    assert e["punct:question"] == pytest.approx(0.5) and e["punct:ellipsis"] == pytest.approx(0.25)
    assert e["punct:quote"] == pytest.approx(0.5) and e["punct:dash"] == pytest.approx(0.25)
    assert e["punct:period"] == pytest.approx(0.25)
    assert text_stats("", "en")["ttr"] == 0.0


def _mattr_brute(tokens, window):
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    ratios = [len(set(tokens[i:i + window])) / window for i in range(len(tokens) - window + 1)]
    return sum(ratios) / len(ratios)


def test_mattr_by_hand_and_brute_force():
    # windows of 3 over a b a c b: {a,b}=2/3, {b,a,c}=1, {a,c,b}=1 -> 8/9
    assert mattr(["a", "b", "a", "c", "b"], 3) == pytest.approx(8 / 9)
    assert mattr(["a", "a"], 5) == pytest.approx(0.5) and mattr([], 5) == 0.0
    rng = random.Random(0)
    tokens = [rng.choice("abcdefghij") for _ in range(200)]
    for window in (1, 7, 50, 199, 250):
        assert mattr(tokens, window) == pytest.approx(_mattr_brute(tokens, window))


def test_function_word_lists_are_the_bundled_ones():
    en, es, fr = function_words("en"), function_words("es"), function_words("fr")
    assert {"the", "of", "and"} <= en and {"que", "de", "los"} <= es and {"l'", "qu'", "les"} <= fr
    assert min(len(en), len(es), len(fr)) > 150
    with pytest.raises(ConfigError, match="language"):
        function_words("de")


def test_detect_language():
    assert detect_language("The doctor said that she would come back to the office.") == "en"
    assert detect_language("La doctora dijo que ella volvería a la oficina con los niños.") == "es"
    assert detect_language("Le médecin a dit qu'elle reviendrait au bureau avec les enfants.") == "fr"


def test_feature_table_frequencies_by_hand():
    texts = ["the cat the", "a dog"]
    table = extract_features(texts, FeatureConfig(char_ngrams=(2,), n_char_ngrams=3),
                             languages=["en", "en"])
    col = {n: table.values[:, i] for i, n in enumerate(table.names)}
    assert col["fw:the"].tolist() == pytest.approx([2 / 3, 0.0])
    assert col["fw:a"].tolist() == pytest.approx([0.0, 0.5])
    assert col["w:cat"].tolist() == pytest.approx([1 / 3, 0.0])
    assert col["w:dog"].tolist() == pytest.approx([0.0, 0.5])
    # 2-grams of "the cat the": th he e_ _c ca at t_ _t th he (10); "a dog": a_ _d do og (4);
    # the 3 most frequent overall: "he" 2, "th" 2, then "_c" (ties broken alphabetically)
    assert [n for n in table.names if n.startswith("c:")] == ["c:he", "c:th", "c:_c"]
    assert col["c:th"].tolist() == pytest.approx([0.2, 0.0])
    kinds = dict(zip(table.names, table.kinds, strict=True))
    assert kinds["fw:the"] == "function_word" and kinds["w:cat"] == "word"
    assert kinds["c:th"] == "char_ngram" and kinds["mattr"] == "style"
    assert table.n_words == (3, 2) and table.languages == ("en", "en")
    with pytest.raises(DataError, match="unknown language"):
        extract_features(texts, languages=["en", "de"])


# ---------------------------------------------------------------- Burrows' Delta


def test_delta_by_hand():
    freqs = np.array([[0.1, 0.2], [0.3, 0.2], [0.2, 0.4], [0.4, 0.0]])
    codes = np.array([0, 0, 1, 1])
    # word 1: group means 0.2 and 0.3, sample sd over the 4 texts sqrt(0.05 / 3);
    # word 2: both group means 0.2 -> |z_A - z_B| = 0.
    expected = (0.1 / math.sqrt(0.05 / 3) + 0.0) / 2
    m = delta_matrix(freqs, codes)
    assert m[0, 1] == pytest.approx(expected) and m[1, 0] == pytest.approx(expected)
    assert m[0, 0] == 0.0
    # a word that never varies is dropped, not divided by 0
    with_constant = np.column_stack([freqs, np.full(4, 0.3)])
    assert delta_matrix(with_constant, codes)[0, 1] == pytest.approx(expected)


def test_delta_separates_groups_with_different_habits():
    rng = random.Random(0)
    common = "the a of and to in is it that was".split()
    texts, groups = [], []
    for g, heavy in (("x", "the"), ("y", "of")):
        for _ in range(25):
            words = [rng.choice(common) for _ in range(40)] + [heavy] * 6
            rng.shuffle(words)
            texts.append(" ".join(words))
            groups.append(g)
    result = burrows_delta(texts, groups, n_mfw=10, null_repeats=50)
    (row,) = result.rows
    assert row["delta"] > row["null_high"] and row["p_value"] < 0.05
    assert result.groups == ("x", "y") and len(result.words) == 10
    same = burrows_delta(texts[:25], ["p", "q"] * 12 + ["p"], n_mfw=10, null_repeats=50)
    assert same.rows[0]["p_value"] > 0.05


# ---------------------------------------------------------------- the classifier


@pytest.fixture(scope="module")
def interactions():
    """Assistant turns of 150 synthetic conversations, with their respondent."""
    from biaskit.lab.interactions import assistant_texts, generate_interactions, interaction_truth

    rows = []
    for conversation in generate_interactions(150, seed=0):
        rows += [{**r, "respondent": conversation["respondent_id"]}
                 for r in assistant_texts([conversation])]
    return rows, interaction_truth()


def test_classifier_finds_the_planted_education_markers(interactions):
    rows, truth = interactions
    report = stylometry_analysis(rows, "education", cluster_column="respondent",
                                 config=StylometryConfig(classifier=FAST))
    c = report.classification
    assert c.above_chance and report.config["n_clusters"] == len({r["respondent"] for r in rows})
    assert c.classes == ("primary", "secondary", "tertiary")
    assert c.ci_low > c.chance + 0.2 and c.p_value < 0.1
    assert c.ci_low <= c.accuracy <= c.ci_high and c.majority < 0.45
    assert sum(map(sum, c.confusion)) == c.n == len(rows)
    for r in c.per_class:
        assert r["f1_ci_low"] <= r["f1"] <= r["f1_ci_high"] and r["f1"] > 0.6
    markers = truth["markers"]["education"]
    for cls in c.classes:
        top = [t["feature"].split(":", 1)[1] for t in c.top_features
               if t["class"] == cls and t["rank"] <= 5 and t["kind"] in ("word", "function_word")]
        assert set(top) & set(markers[cls]), (cls, top)
    assert report.config["languages"] == {"en": 56, "es": 60, "fr": 89}  # from the rows' column


def test_a_control_field_is_at_chance_when_respondents_are_kept_together(interactions):
    rows, truth = interactions
    assert "region" in truth["controls"]  # nothing in the texts depends on it
    c = stylometry_analysis(rows, "region", cluster_column="respondent",
                            config=StylometryConfig(classifier=FAST)).classification
    assert c.ci_low <= c.chance and not c.above_chance


def test_random_split_of_one_group_is_at_chance(interactions):
    rows, _ = interactions
    one = [dict(r) for r in rows if r["education"] == "secondary"]
    rng = random.Random(1)
    for r in one:
        r["fake"] = rng.choice(["p", "q"])
    report = stylometry_analysis(one, "fake", config=StylometryConfig(classifier=FAST))
    c = report.classification
    assert c.ci_low <= c.chance <= c.ci_high and c.ci_low <= 0.5 <= c.ci_high
    assert c.p_value > 0.05 and not c.above_chance


def test_clustered_resampling_and_permutations():
    from biaskit.analysis.resampling import group_codes, item_weights, mean_ci, permute_labels

    rng = np.random.default_rng(0)
    clusters = group_codes(["r1", "r1", "r2", "r2", "r2", "r3"], 6)
    assert clusters.tolist() == [0, 0, 1, 1, 1, 2]
    constant = np.array([0, 0, 1, 1, 1, 0])  # one label per cluster: whole clusters swap
    for _ in range(20):
        p = permute_labels(constant, clusters, rng)
        assert p[0] == p[1] and p[2] == p[3] == p[4]
        assert sorted(np.bincount(clusters, weights=p) / np.bincount(clusters)) == [0, 0, 1]
    mixed = np.array([0, 1, 0, 1, 1, 0])  # labels vary within clusters: shuffled within each
    for _ in range(20):
        p = permute_labels(mixed, clusters, rng)
        assert sorted(p[:2]) == [0, 1] and sorted(p[2:5]) == [0, 1, 1] and p[5] == 0
    w = item_weights(6, clusters, 50, rng)
    assert np.all(w[:, 0] == w[:, 1]) and np.all(w[:, 2] == w[:, 4])
    assert np.all(w[:, [0, 2, 5]].sum(axis=1) == 3)  # 3 clusters drawn per replicate
    value, lo, hi = mean_ci(np.array([1.0, 1.0, 0.0, 0.0, 0.0, 1.0]), clusters, n_boot=200, seed=0)
    assert value == pytest.approx(0.5) and lo <= value <= hi


def test_classifier_errors():
    table = extract_features(["a b", "c d", "e f"], languages=["en"] * 3)
    with pytest.raises(DataError, match="two classes"):
        classify_texts(table, ["x", "x", "x"])
    with pytest.raises(DataError, match="single text"):
        classify_texts(table, ["x", "x", "y"])


# ---------------------------------------------------------------- reports


def test_battery_rows_report_and_files(tmp_path):
    rng = random.Random(0)
    rows = []
    for variant, word in (("base", "perhaps"), ("tuned", "certainly")):
        for sample in range(12):
            body = " ".join(rng.choice("we can see the river from our house today".split())
                            for _ in range(15))
            rows.append({"prompt": "Describe your town.", "persona": "teacher", "variant": variant,
                         "sample": sample, "text": f"{word.capitalize()}, {body}. {word} so!"})
    report = stylometry_analysis(rows, "variant", id_column="sample",
                                 config=StylometryConfig(classifier=FAST, null_repeats=20))
    assert report.classification.accuracy > 0.9
    report.save(tmp_path)
    saved = json.loads((tmp_path / "stylometry.json").read_text())
    assert saved["classification"]["classes"] == ["base", "tuned"] and saved["label"] == "variant"
    with open(tmp_path / "stylometry_confusion.csv", newline="") as fh:
        confusion = list(csv.DictReader(fh))
    assert list(confusion[0]) == ["true", "predicted", "count"] and len(confusion) == 4
    with open(tmp_path / "stylometry_texts.csv", newline="") as fh:
        texts = list(csv.DictReader(fh))
    assert len(texts) == 24 and {"id", "label", "predicted", "correct", "mattr"} <= set(texts[0])
    with open(tmp_path / "stylometry_top_features.csv", newline="") as fh:
        top = list(csv.DictReader(fh))
    for cls, marker in (("base", "perhaps"), ("tuned", "certainly")):
        assert any(t["feature"].endswith(f":{marker}") for t in top if t["class"] == cls)
    for name in ("stylometry_confusion.png", "stylometry_top_features.png", "stylometry_delta.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    for name in ("stylometry_features.csv", "stylometry_per_class.csv", "stylometry_delta.csv",
                 "stylometry_groups.csv"):
        assert (tmp_path / name).stat().st_size > 0


def test_analysis_input_errors():
    rows = [{"text": "a b c", "g": "x"}, {"text": "d e f", "g": "y"}]
    with pytest.raises(DataError, match="no column 'label'"):
        stylometry_analysis(rows, "label")
    with pytest.raises(DataError, match="no column 'lang'"):
        stylometry_analysis(rows, "g", language="lang")
    with pytest.raises(DataError, match="empty"):
        stylometry_analysis([{"text": "", "g": "x"}], "g")
