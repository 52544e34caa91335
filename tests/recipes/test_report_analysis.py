"""Report sections of embed, stylometry, attention, generate, finetune, erase and steer.

Each step's folder is written with the analysis modules' own `save` functions (or the
files the step writes) from hand-made results, so the numbers the report must show are
known; then files are removed to check that a section degrades to a note, never a crash.
"""

from __future__ import annotations

import base64
import csv
import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from biaskit.io import write_json, write_jsonl
from biaskit.recipes.step import StepContext
from biaskit.recipes.steps.report import ReportParams
from biaskit.recipes.steps.report import run as run_report

GROUPS = ["education=primary", "education=tertiary"]


def _embed(run_dir):
    from biaskit.analysis.embeddings import EmbeddingReport

    def rec(variant, layer, metric, value, lo, hi, null_high):
        return {"variant": variant, "layer": layer, "metric": metric, "value": value, "ci_low": lo,
                "ci_high": hi, "null_mean": 0.0, "null_low": -0.05, "null_high": null_high,
                "p_value": 0.01, "n": 40, "k": 10, "groups": 2}

    metrics = []
    for layer, (sil, knn) in enumerate([(0.05, 0.1), (0.31, 0.5), (0.12, 0.2)]):
        metrics += [rec("base", layer, "silhouette", sil, sil - 0.04, sil + 0.04, 0.05),
                    rec("base", layer, "knn_purity", knn, knn - 0.1, knn + 0.1, 0.05)]
        # the tuned variant never leaves the null band: its intervals overlap it everywhere
        metrics += [rec("tuned", layer, "silhouette", 0.02, -0.03, 0.07, 0.05),
                    rec("tuned", layer, "knn_purity", 0.0, -0.1, 0.1, 0.05)]
    coords = [{"id": i, "variant": v, "layer": layer, "method": "pca", "x": float(i), "y": float(-i),
               "label": ("a", "b")[i % 2]} for v in ("base", "tuned") for layer in range(3)
              for i in range(6)]
    EmbeddingReport(label="variant", layers=(0, 1, 2), variants=("base", "tuned"), groups=("a", "b"),
                    metrics=metrics, coordinates=coords,
                    config={"separation": {"null_repeats": 10}}).save(run_dir / "embed")
    return {"kind": "embed", "params": {"data": "gen.jsonl", "label": "variant", "pooling": "mean"},
            "outputs": {"best_layer": 1, "silhouette": 0.31, "silhouette_null": 0.0, "knn_purity": 0.5,
                        "n": 40, "variants": ["base", "tuned"], "groups": ["a", "b"]}}


def _stylometry(run_dir):
    from biaskit.analysis.stylometry import StylometryConfig, stylometry_analysis
    from biaskit.analysis.stylometry_classify import ClassifierConfig

    rows = []
    for i in range(12):
        rows.append({"text": f"Simply, the bus is cheap {i}. Simply, it is fine.", "variant": GROUPS[0]})
        rows.append({"text": f"Notably; trains were late again {i}; notably so!", "variant": GROUPS[1]})
    rows.append({"text": "A row of another template.", "variant": None})
    report = stylometry_analysis(rows, "variant", language="en", config=StylometryConfig(
        classifier=ClassifierConfig(cv=3, n_boot=100, permutations=10), null_repeats=10))
    report.save(run_dir / "stylometry")
    c = report.classification
    return report, {"kind": "stylometry", "params": {"label": "variant"}, "outputs": {
        "accuracy": c.accuracy, "ci_low": c.ci_low, "ci_high": c.ci_high, "chance": c.chance,
        "above_chance": c.above_chance, "p_value": c.p_value, "macro_f1": c.macro_f1, "n": c.n,
        "classes": list(c.classes), "source": str(run_dir / "battery" / "generations.jsonl")}}


def _attention(run_dir):
    from biaskit.analysis.attention_report import compare_attention, summarise

    rng = np.random.default_rng(0)
    base = rng.uniform(0.0, 0.2, (30, 2, 4))
    base[:, 1, 2] += 0.6  # layer 1, head 2 looks at the term
    tuned = base.copy()
    noise = rng.normal(0.0, 0.05, 30)
    tuned[:, 0, 1] += 0.3 + noise - noise.mean()  # fine-tuning moved layer 0, head 1 by 0.3
    items = [SimpleNamespace(uniform=0.25, record={"subject": "nurse"}, text=f"t{i}") for i in range(30)]
    reports = {v: summarise(x, items, [0, 1], n_boot=200, config={"variant": v, "model": "m"})
               for v, x in (("base", base), ("tuned", tuned))}
    for name, report in reports.items():
        report.save(run_dir / "attention" / name)
    compare_attention(reports["base"], reports["tuned"], names=("base", "tuned"),
                      n_boot=1000).save(run_dir / "attention")
    top = reports["base"].top_heads(1)[0]
    return {"kind": "attention", "params": {"data": "lab:gender_professions", "group": "subject"},
            "outputs": {"top_layer": top["layer"], "top_head": top["head"], "top_weight": top["mean"],
                        "uniform": 0.25, "n_items": 30, "variants": ["base", "tuned"],
                        "changed_heads": {"tuned": 1}}}


def _generate(run_dir):
    rows = [{"prompt_id": f"q|en|topic={t}", "variant": v, "sample": s, "topic": t,
             "prompt": f"User: question about {t}\nAssistant:", "text": f"{v} answer {t} {s}"}
            for v in ("base", *GROUPS) for t in ("work", "health") for s in range(3)]
    write_jsonl(run_dir / "battery" / "generations.jsonl", rows)
    write_json(run_dir / "battery" / "generate.json", {"sampling": {
        "do_sample": True, "temperature": 0.7, "top_p": 0.9, "max_new_tokens": 24}})
    return {"kind": "generate", "params": {"battery": "data/batteries/lab_interactions.yaml"},
            "outputs": {"n_rows": 18, "n_prompts": 2, "repeats": 3, "variants": ["base", *GROUPS],
                        "mean_tokens": 5.0, "file": str(run_dir / "battery" / "generations.jsonl")}}


def _finetune(run_dir):
    folder = run_dir / "profiles"
    adapters = {}
    for k, g in enumerate(GROUPS):
        path = folder / "adapters" / g
        write_json(path / "adapter.json", {"curve": [{"step": s, "loss": 5.0 - s / 10 - k}
                                                     for s in (5, 10, 15)]})
        adapters[g] = str(path)
    with (folder / "split.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["group", "train_respondents", "heldout"])
        w.writeheader()
        w.writerows([{"group": g, "train_respondents": 30 + k, "heldout": 9} for k, g in enumerate(GROUPS)])
    ppl = {("base", GROUPS[0]): 900.0, ("base", GROUPS[1]): 800.0, (GROUPS[0], GROUPS[0]): 30.0,
           (GROUPS[0], GROUPS[1]): 90.0, (GROUPS[1], GROUPS[0]): 70.0, (GROUPS[1], GROUPS[1]): 40.0}
    return {"kind": "finetune", "params": {"data": "lab:interactions", "split_by": ["education"],
                                           "lora": {"rank": 4}},
            "outputs": {"adapters": adapters, "groups": GROUPS, "skipped": {"education=none": 3},
                        "objective": "lm", "final_loss": {GROUPS[0]: 3.5, GROUPS[1]: 2.5},
                        "sizes": {g: {"items": 100, "steps": 15, "epochs": 1.2, "heldout": 9}
                                  for g in GROUPS},
                        "perplexity": [{"variant": v, "group": g, "perplexity": x}
                                       for (v, g), x in ppl.items()],
                        "diagonal": {g: True for g in GROUPS},
                        "metrics": [{"variant": v, "suite": "perplexity", "model": "m",
                                     "metric": "perplexity", "value": x, "ci_low": x - 1,
                                     "ci_high": x + 1, "n": 10, **extra}
                                    for v, x in (("base", 50.0), *((g, 40.0) for g in GROUPS))
                                    for extra in ({}, {"language": "en"})]}}


def _probe(run_dir):
    write_json(run_dir / "probe" / "probe.json", {"label": "gender", "classes": ["f", "m"], "records": [
        {"site": "resid", "layer": layer, "accuracy": acc} for layer, acc in ((0, 0.6), (1, 0.93))]})
    return {"kind": "probe", "params": {"data": "lab:gender_professions"},
            "outputs": {"n": 40, "baseline": 0.5, "best_layer": 1, "accuracy": 0.93, "selectivity": None}}


def _erase(run_dir, after):
    write_json(run_dir / "erase" / "erase.json", {"rows": [
        {"layer": 1, "rank": 1, "mean_gap_before": 2.0, "mean_gap_after": 0.001, "relative_gap": 0.0005}]})
    return {"kind": "erase", "params": {"data": "lab:gender_sentences"}, "outputs": {
        "layers": [1], "label": "gender", "classes": ["f", "m"], "ranks": [1], "n_fit": 80,
        "n_heldout": 20, "relative_gap": 0.0005, "heldout_accuracy_before": 0.95,
        "heldout_accuracy_after": after, "heldout_baseline": 0.5, "fingerprint_before": "aaa",
        "fingerprint_after": "bbb"}}


def _steer():
    return {"kind": "steer", "params": {}, "outputs": {
        "layer": 1, "site": "resid", "strength": 4.0, "positions": "all", "toward": "f",
        "source": "probe:probe:mean_diff", "direction_norm": None, "width": 64, "cosine_with_probe": None}}


def _evaluate(name):
    return {"kind": "evaluate", "params": {}, "outputs": {"suites": [], "metrics": []}}


def _report(run_dir, steps):
    out = run_dir / "report"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    ctx = StepContext(name="report", out=out, run_dir=run_dir, seed=0, lab_preset="lab",
                      recipe={"name": "t", "path": "t.yaml", "model": {"id": "m"}, "seed": 0,
                              "overrides": [], "model_info": {}, "command": None},
                      progress=False, _model_loader=lambda: None, _steps=steps, _shared={})
    run_report(ctx, ReportParams(compare=None, console=False))
    return (out / "report.md").read_text(), (out / "report.html").read_text()


@pytest.fixture
def analysis_run(tmp_path):
    steps = {"profiles": _finetune(tmp_path), "battery": _generate(tmp_path), "embed": _embed(tmp_path),
             "attention": _attention(tmp_path)}
    report, steps["stylometry"] = _stylometry(tmp_path)
    return tmp_path, steps, report


def test_sections_show_the_numbers_of_each_step(analysis_run):
    run_dir, steps, style = analysis_run
    md, html = _report(run_dir, steps)
    # finetune: sizes, the perplexity matrix with the diagonal marked, the loss curves
    assert "## What was trained: one adapter per group (step `profiles`)" in md
    assert f"| {GROUPS[0]} | 30 | 100 | 9 | 15 | 1.2 | 3.5 | `profiles/adapters/{GROUPS[0]}` |" in md
    assert f"| {GROUPS[0]} | 30 ◀ | 90 |" in md and "best on **2 of 2** groups" in md
    assert "education=none (3)" in md and (run_dir / "report" / "profiles_loss.png").is_file()
    assert "| perplexity | perplexity | 50 [49, 51] | 40 [39, 41] | 40 [39, 41] |" in md
    assert "[language=en]" not in md  # per-group rows stay in metrics.csv
    # generate: counts and two samples of the first prompt per version
    assert "**18 answers** were generated: 2 prompts" in md and "temperature 0.7" in md
    assert md.count("| User: question about work Assistant: |") == 6
    assert f"| {GROUPS[1]} | User: question about work Assistant: | {GROUPS[1]} answer work 1 |" in md
    # embed: the best layer of each version, and whether it leaves the shuffled-label band
    assert "best separated at **layer 1** (silhouette 0.31, 95% CI [0.27, 0.35]" in md
    assert "| base | 1 | 0.31 [0.27, 0.35] | 0 [-0.05, 0.05] | 0.5 [0.4, 0.6] | yes |" in md
    tuned_row = next(r for r in md.splitlines() if r.startswith("| tuned | 0 | 0.02 [-0.03, 0.07] |"))
    assert tuned_row.endswith("| no |")
    assert "embedding_map_pca_tuned.png" in md
    # attention: the planted head first, and the one changed head
    assert "**layer 1, head 2**" in md and "| tuned | 1 | layer 0, head 1: 0.3 [" in md
    # stylometry: the classifier's own numbers, the dropped unlabelled row, Burrows' Delta
    c = style.classification
    assert f"accuracy **{c.accuracy:.3g}**" in md and "1 text had no *variant*" in md
    assert "the word `simply`" in md or "letters `imp`" in md
    assert "### How different are the groups' word habits? (Burrows' Delta)" in md
    # every image is embedded in the HTML
    n_images = md.count("![")
    assert n_images == 9 and html.count("data:image/png;base64,") == n_images
    png = html.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    glossary = md.split("## Glossary")[1]
    for term in ("Silhouette", "Burrows' Delta", "Attention head", "LoRA adapter",
                 "Model version (variant)"):
        assert f"**{term}**" in glossary
    assert "**Concept erasure" not in glossary  # only the kinds of this run


def test_missing_files_are_said_not_crashed(analysis_run):
    run_dir, steps, _ = analysis_run
    (run_dir / "embed" / "embeddings.json").unlink()
    shutil.rmtree(run_dir / "attention")
    shutil.rmtree(run_dir / "profiles" / "adapters")
    (run_dir / "battery" / "generations.jsonl").unlink()
    for f in (run_dir / "stylometry").iterdir():
        f.unlink()
    md, _ = _report(run_dir, steps)
    for gone in ("embed/embeddings.json", "attention/base/attention.json", "attention/compare_*.json",
                 "profiles/adapters/<group>/adapter.json", "battery/generations.jsonl",
                 "stylometry/stylometry.json", "stylometry/stylometry_confusion.png"):
        assert f"Not shown: `{gone}` could not be found" in md, gone
    # what the outputs still hold is shown
    assert "separation is highest at **layer 1**" in md and "| tuned | 1 | n/a |" in md
    assert "## How to reproduce" in md


def test_a_broken_step_gets_a_note_and_the_rest_of_the_report(analysis_run):
    run_dir, steps, _ = analysis_run
    del steps["embed"]["outputs"]["best_layer"]  # an outputs.json edited by hand
    md, _ = _report(run_dir, steps)
    assert "The section of step `embed` (embed) is incomplete: its files could not be read " \
           "(KeyError: 'best_layer')" in md
    assert "## Can the *variant* be told from the writing style? (step `stylometry`)" in md


@pytest.mark.parametrize("after, verdict", [(0.52, "The erasure holds on texts it was not fitted on."),
                                            (0.9, "A probe can still read it above chance")])
def test_erase_and_steer_sections(tmp_path, after, verdict):
    steps = {"probe": _probe(tmp_path), "before": _evaluate("before"), "erase": _erase(tmp_path, after),
             "steer": _steer(), "after": _evaluate("after")}
    md, _ = _report(tmp_path, steps)
    assert "## What was changed: *gender* erased at layer(s) 1 (step `erase`)" in md
    assert "accuracy **0.95** before and **" + f"{after:.3g}" + "** after" in md and verdict in md
    assert "| 1 | 1 | 2 | 0.001 | 0.0005 |" in md
    assert "## What was changed: steering towards *f* at layer 1 (step `steer`)" in md
    assert "The probe of step `probe` reads the attribute at layer 1 with accuracy 0.93 (always " \
           "guessing: 0.5), so the direction points at something" in md
    assert "these accuracies are rough" in md  # 20 held-out texts
    assert "Measured before steering: `before`; with steering on: `after`." in md
    glossary = md.split("## Glossary")[1]
    assert "**Concept erasure (LEACE)**" in glossary and "**Steering**" in glossary


def test_generate_section_reads_the_sampling_settings(tmp_path):
    from biaskit.recipes.document import Document
    from biaskit.recipes.report_analysis import generate_section

    step = _generate(tmp_path)
    (tmp_path / "battery" / "generate.json").write_text(json.dumps({"sampling": {
        "do_sample": False, "max_new_tokens": 24}}))
    doc = Document("t")
    generate_section(doc, "battery", tmp_path / "battery", step["params"], step["outputs"])
    text = doc.markdown(tmp_path)
    assert "greedy decoding" in text and "at most 24 new tokens" in text
