"""Stylometry drops rows without a label (battery outputs set unused variables to None)."""

from __future__ import annotations

import logging
import math

import pytest

from biaskit.analysis.stylometry import StylometryConfig, missing_label, stylometry_analysis
from biaskit.analysis.stylometry_classify import ClassifierConfig
from biaskit.errors import DataError

CONFIG = StylometryConfig(classifier=ClassifierConfig(cv=3, n_boot=100, permutations=5),
                          null_repeats=5)


def _rows() -> list[dict]:
    """Two groups with different habits, twelve texts each, interleaved."""
    rows = []
    for i in range(12):
        rows.append({"text": f"Simply, the bus is cheap {i}. Simply, it is fine.", "persona": "a"})
        rows.append({"text": f"Notably; trains were late again {i}; notably so!", "persona": "b"})
    return rows


def test_rows_without_a_label_are_dropped_not_counted_as_a_class(caplog):
    labelled = _rows()
    noisy = list(labelled)
    # The battery writes None for a variable its template does not use; CSV turns it into "".
    for i, value in enumerate((None, "", "  ", float("nan"))):
        noisy.insert(3 * i + 1, {"text": "Hello there, how are you today?", "persona": value})
    noisy.append({"text": "No persona column at all here."})
    with caplog.at_level(logging.WARNING, logger="biaskit.analysis.stylometry"):
        report = stylometry_analysis(noisy, "persona", language="en", config=CONFIG)
    assert report.classes == ("a", "b")
    assert report.classification.n == 24 and report.config["n_unlabelled"] == 5
    assert report.config["group_sizes"] == {"a": 12, "b": 12}
    assert "5 of 29 rows have no 'persona'" in caplog.text
    # Default ids are positions in the input, so every text row can be traced back.
    assert [noisy[i]["persona"] for i in report.ids] == [r["persona"] for r in labelled]
    # Dropping is the whole effect: the same numbers as on the labelled rows alone.
    clean = stylometry_analysis(labelled, "persona", language="en", config=CONFIG)
    assert clean.config["n_unlabelled"] == 0
    assert report.classification.accuracy == clean.classification.accuracy
    assert report.classification.confusion == clean.classification.confusion
    assert report.delta.rows == clean.delta.rows


def test_no_labelled_row_is_a_clear_error():
    rows = [{"text": "one", "persona": None}, {"text": "two", "persona": ""}]
    with pytest.raises(DataError, match="no row has a value in column 'persona'"):
        stylometry_analysis(rows, "persona", language="en", config=CONFIG)
    with pytest.raises(DataError, match="no column 'stance'"):
        stylometry_analysis(rows, "stance", language="en", config=CONFIG)


@pytest.mark.parametrize("value, missing", [(None, True), ("", True), (" \t", True),
                                            (math.nan, True), ("None", False), (0, False),
                                            (False, False), ("a", False)])
def test_missing_label(value, missing):
    assert missing_label(value) is missing
