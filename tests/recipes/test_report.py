"""The report step on hand-made before/after scores: the table's numbers and its files."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from biaskit.eval.scores import Scores, metric
from biaskit.recipes.document import Document, Image, Para, Table, fmt_ci
from biaskit.recipes.step import StepContext
from biaskit.recipes.steps.report import ReportParams
from biaskit.recipes.steps.report import run as run_report

N = 60


def _scores(values: np.ndarray, kept: np.ndarray) -> Scores:
    items = tuple({"item_id": f"i{i}", "gap": float(v), "acc": float(k)}
                  for i, (v, k) in enumerate(zip(values, kept, strict=True)))
    metrics = (metric("gap", items, "mean", {"x": "gap"}, seed=0),
               metric("accuracy", items, "mean", {"x": "acc"}, seed=0))
    return Scores("templates", "m", metrics, items)


def _step(run_dir, name, scores):
    d = run_dir / name / "templates"
    scores.save(d)
    rows = scores.rows()
    return {"kind": "evaluate", "params": {"suites": ["templates"]},
            "outputs": {"suites": ["templates"], "metrics": rows}}


@pytest.fixture
def report_run(tmp_path, capsys):
    rng = np.random.default_rng(0)
    gap = rng.normal(1.0, 0.3, N)
    acc = rng.integers(0, 2, N).astype(float)
    steps = {"before": _step(tmp_path, "before", _scores(gap, acc)),
             "after": _step(tmp_path, "after", _scores(gap - 0.5, acc))}  # gap shrinks by 0.5 exactly
    out = tmp_path / "report"
    out.mkdir()
    ctx = StepContext(name="report", out=out, run_dir=tmp_path, seed=0, lab_preset="lab",
                      recipe={"name": "t", "description": "A test.", "path": "t.yaml",
                              "model": {"id": "some/model"}, "seed": 0, "overrides": ["seed=0"],
                              "model_info": {"fingerprint": "abc"}, "command": None},
                      progress=False, _model_loader=lambda: None, _steps=steps, _shared={})
    outputs = run_report(ctx, ReportParams(compare=("before", "after"), n_boot=500))
    return outputs, out, capsys.readouterr().out


def test_comparison_numbers(report_run):
    outputs, _, _ = report_run
    rows = {r["metric"]: r for r in outputs["comparison"]}
    gap, acc = rows["gap"], rows["accuracy"]
    assert gap["diff"] == pytest.approx(-0.5)  # a constant shift: every resample gives -0.5
    assert gap["ci_low"] == pytest.approx(-0.5) and gap["ci_high"] == pytest.approx(-0.5)
    assert gap["significant"] is True
    assert acc["diff"] == 0 and acc["significant"] is False
    assert outputs["n_significant"] == 1 and outputs["compared"] == ["before", "after"]
    assert outputs["command"] == "biaskit run t.yaml --set seed=0"


def test_report_files(report_run):
    _, out, console = report_run
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert "## Before and after: `before` vs `after`" in md
    assert "| templates | gap |" in md and "| yes |" in md
    assert "![" in md and "before_after.png" in md
    assert "biaskit run t.yaml --set seed=0" in md and "fingerprint `abc`" in md
    png = html.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "comparison.json").read_text())[0]["suite"] == "templates"
    assert (out / "comparison.csv").read_text().startswith("suite,metric,groups,label,before")
    assert "before (before) vs after (after)" in console and "gap" in console


def test_document_renders_the_same_content(tmp_path):
    from PIL import Image as PILImage

    png = tmp_path / "x.png"
    PILImage.new("RGB", (2, 2)).save(png)
    doc = Document("T")
    doc.add(Para("a **b** *c* `d<e>`"), Table(("h", "n"), (("x|y", "1"),), right=(1,)),
            Image(png, "cap"))
    md, html = doc.markdown(tmp_path), doc.html()
    assert "a **b** *c* `d<e>`" in md and "| x\\|y | 1 |" in md and "| --- | ---: |" in md
    assert "![cap](x.png)" in md
    assert "<strong>b</strong> <em>c</em> <code>d&lt;e&gt;</code>" in html
    assert '<td class="num">1</td>' in html and "data:image/png;base64," in html
    assert fmt_ci(float("nan"), 1.0) == "n/a"


def test_headline_summarises_metrics_with_many_groups():
    from biaskit.recipes.report_sections import headline

    def row(metric, groups, before, after, sig):
        return {"suite": "s", "metric": metric, "groups": groups, "label": metric, "before": before,
                "after": after, "significant": sig}

    rows = [row("ppl", {}, 10.0, 10.1, False), row("ppl", {"language": "en"}, 9.0, 9.0, False)]
    rows += [row("gap", {"group": f"g{i}"}, 0.4 if i % 2 else -0.4, 0.1, i < 3) for i in range(12)]
    shown, summaries = headline(rows)
    assert [r["metric"] for r in shown] == ["ppl"] and shown[0]["groups"] == {}
    assert summaries == [{"suite": "s", "metric": "gap", "n": 12, "significant": 3, "toward_zero": 12,
                          "abs_before": pytest.approx(0.4), "abs_after": pytest.approx(0.1)}]


def test_probe_section_explains_shuffled_labels_when_permuted(tmp_path):
    import torch

    from biaskit.activation_set import ActivationSet
    from biaskit.probes import probe_layers
    from biaskit.recipes.report_sections import probe_section

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    X = rng.normal(size=(80, 2, 6)).astype(np.float32)
    X[:, 1, 0] += 3 * (2 * y - 1)
    acts = ActivationSet(layers=(0, 1), sites=("resid",), records=[{"y": int(v)} for v in y],
                         meta={"model": "m", "positions": "last", "widths": {"resid": 6}},
                         data={"resid": torch.from_numpy(X)})
    report = probe_layers(acts, "y", permutations=9, progress=False)
    report.save(tmp_path, plot=False)
    best = report.record()
    out = {"n": 80, "baseline": best["baseline"], "best_layer": report.best_layer,
           "accuracy": best["accuracy"], "selectivity": best["selectivity"]}
    doc = Document("T")
    probe_section(doc, "probe", tmp_path, {"data": "x.jsonl"}, out)
    md = doc.markdown(tmp_path)
    assert "| shuffled labels | p |" in md and "9 random shufflings" in md
    assert "| 0.1 |" in md or "| 0.100 |" in md  # layer 1: no shuffle reached it, p = 1/10


def test_summary_line_weighs_the_size_of_significant_changes():
    from biaskit.recipes.steps.report import summary

    rows = [{"significant": True, "before": 0.253, "diff": -0.002},  # significant, tiny
            {"significant": True, "before": 0.40, "diff": -0.20},  # significant, large
            {"significant": False, "before": 0.40, "diff": -0.30}]  # large, not significant
    line = summary({"compared": ["before", "after"], "comparison": rows, "n_significant": 2})
    assert "2 of 3 measures (every group counted) changed significantly, 1 of them by 10% or more" in line
