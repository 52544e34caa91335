import csv
import json

import numpy as np
import pytest
import torch
from rich.console import Console
from rich.table import Table

from biaskit.errors import DataError, LayerError
from biaskit.probes.layers import probe_layers
from biaskit.probes.report import FIELDS, MDL_FIELDS, ProbeReport, choose_best

pytestmark = pytest.mark.usefixtures("one_thread")  # see conftest.py


@pytest.fixture(scope="module")
def report(make_acts, planted):
    X, y, _ = planted(n=120, n_layers=3, d=6, signal_layers=(2,))
    acts = make_acts(X, {"nationality": ["cl" if v else "pe" for v in y]}, sites=("resid", "mlp_out"),
                     model="tiny-synthetic")
    return probe_layers(acts, "nationality", cv=3, mdl=True, progress=False)


def test_save_load_round_trip(report, tmp_path):
    out = report.save(tmp_path / "probe")
    assert sorted(p.name for p in out.iterdir()) == [
        "probe.csv", "probe.json", "probe.png", "probe_directions.safetensors"]
    back = ProbeReport.load(out)
    assert back.records == report.records
    assert (back.best_layer, back.best_site, back.label, back.classes) == (
        report.best_layer, report.best_site, "nationality", ["cl", "pe"])
    assert back.config == report.config and back.config["model"] == "tiny-synthetic"
    assert set(back.directions) == set(report.directions) == {
        (s, layer) for s in ("resid", "mlp_out") for layer in range(3)}
    for key, vec in report.directions.items():
        torch.testing.assert_close(back.directions[key], vec)
        torch.testing.assert_close(back.mean_directions[key], report.mean_directions[key])


def test_json_has_results_but_no_tensors(report, tmp_path):
    report.save(tmp_path, plot=False)
    info = json.loads((tmp_path / "probe.json").read_text())
    assert {"records", "best_layer", "best_site", "label", "classes", "config"} <= set(info)
    assert info["config"]["cv"] == 3 and info["config"]["C"] == 1.0
    assert "directions" not in info and info["directions_file"] == "probe_directions.safetensors"
    assert not (tmp_path / "probe.png").exists()


def test_csv_is_tidy_with_a_fixed_header(report, tmp_path):
    report.save(tmp_path, plot=False)
    with open(tmp_path / "probe.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [*FIELDS, *MDL_FIELDS]
    assert len(rows) == 6  # one row per layer x site
    assert [(r["site"], int(r["layer"])) for r in rows][:3] == [("resid", 0), ("resid", 1), ("resid", 2)]
    assert float(rows[2]["accuracy"]) == pytest.approx(report.records[2]["accuracy"])


def test_png_is_a_real_image(report, tmp_path):
    report.save(tmp_path)
    png = (tmp_path / "probe.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_table_has_a_row_per_record(report):
    table = report.as_table()
    assert isinstance(table, Table) and table.row_count == len(report.records)
    console = Console(record=True, width=160)
    console.print(table)
    text = console.export_text()
    assert "selectivity" in text and "nationality" in text and "tiny-synthetic" in text


def test_accessors(report):
    assert report.sites == ["resid", "mlp_out"]
    assert report.layers("mlp_out") == [0, 1, 2]
    assert report.record()["layer"] == report.best_layer
    with pytest.raises(LayerError, match="layer 9"):
        report.record(9)
    with pytest.raises(DataError, match="unknown direction kind"):
        report.direction(kind="lda")


def test_load_of_a_directory_without_report():
    with pytest.raises(DataError, match="no probe report"):
        ProbeReport.load("/nonexistent/probe-dir")


def rec(layer, acc, sel, site="resid"):
    return {"site": site, "layer": layer, "accuracy": acc, "selectivity": sel}


def test_best_layer_rule():
    # Layer 2 is the most selective; layer 3 is within 0.05 of it and more accurate: it wins.
    records = [rec(0, 0.60, 0.05), rec(1, 0.99, 0.10), rec(2, 0.90, 0.40), rec(3, 0.95, 0.37),
               rec(4, 0.97, 0.30)]
    assert choose_best(records) == ("resid", 3)
    # Without control, the highest accuracy; ties go to the earliest layer.
    plain = [rec(0, 0.7, None), rec(1, 0.9, None), rec(2, 0.9, None)]
    assert choose_best(plain) == ("resid", 1)
    with pytest.raises(DataError):
        choose_best([])


def test_best_layer_ignores_memorising_layers(make_acts):
    """A layer that only memorises types (high accuracy, zero selectivity) must not win."""
    rng = np.random.default_rng(0)
    subject = np.repeat(np.arange(30), 8)
    label = rng.permutation(np.arange(30) % 2)[subject]
    X = np.zeros((len(subject), 2, 24), dtype=np.float32)
    X[:, 0] = (rng.normal(size=(30, 24)) * 3)[subject] + rng.normal(size=(len(subject), 24)) * 0.3
    X[:, 1] = rng.normal(size=(len(subject), 24))
    X[:, 1, 0] += 1.2 * (2 * label - 1)  # a real but weaker shared signal
    acts = make_acts(X, {"y": label.tolist(), "subject": [f"s{s}" for s in subject]})
    report = probe_layers(acts, "y", control_by="subject", progress=False)
    assert report.records[0]["accuracy"] > report.records[1]["accuracy"]
    assert report.best_layer == 1
