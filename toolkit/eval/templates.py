"""Template counterfactuals: the same sentence frame filled with each group, compared.

A template has one `{group}` slot, the fill text of each group, and >= 2 target
continuations. For each template t and group g the model's preference is
`log_odds(t, g) = log P(targets[0] | t(g)) - log P(targets[1] | t(g))`. Reported, with
bootstrap CIs over templates:

- `log_odds` per group: the mean preference for the first target.
- `gap` per group: the mean of `log_odds(t, g) - mean_g' log_odds(t, g')`, the group
  against the average of the groups in the same template, so a template's own pull
  towards one target cancels. A CI excluding 0 means the group is treated differently.
- `stereotype_gap` (templates naming a `stereotyped_group`): the stereotyped group's
  log-odds minus the mean of the others; > 0 means the stereotype is preferred for it.

HESEIA-style rows (a `phrase` with a `*` slot and a `word_list`) have no targets: each
filled phrase is scored whole, and `spread` (highest minus lowest log-likelihood over the
words of a phrase) and per-word normalised log-probabilities are reported.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from biaskit.errors import DataError
from biaskit.eval.common import grouped, in_chunks, require_causal, unique
from biaskit.eval.loaders import as_list, describe, lab_preset, lab_rows, read_source
from biaskit.eval.scores import Metric, Scores, items_with_ids, metric
from biaskit.scoring import choice_logprobs, sentence_logprobs

log = logging.getLogger(__name__)

SLOT = "{group}"


def default_templates_dir() -> Path:
    """`data/templates/` of the biaskit source tree (the project's own templates)."""
    return Path(__file__).resolve().parents[2] / "data" / "templates"


def load_templates(data: Any = None, *, model: Any = None, preset: str | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
    """Templates from a file, folder, `hf:` id, rows, a HESEIA CSV or a lab dataset.

    Lab datasets are named `lab:gender_professions`, `lab:controls`, ...

    Returns:
        Rows `{id, lang, axis, template, groups: {label: fill}, targets, stereotyped_group}`
        (`targets` empty for HESEIA rows).
    """
    if isinstance(data, str) and data.startswith("lab:"):
        rows = lab_templates(lab_rows(model, data[4:], preset))
    elif isinstance(data, list):
        rows = data
    else:
        source = data if data is not None else default_templates_dir()
        if data is None and not Path(source).exists():
            raise DataError(f"no templates at {source}; give --data (templates .jsonl, a HESEIA "
                            "CSV, or lab:gender_professions)")
        rows = read_source(source, patterns=("*.jsonl", "*.csv", "*.json"))
    source = describe(data)
    out = [_template(r, i, source) for i, r in enumerate(rows)]
    return out[:limit] if limit else out


def _template(row: dict[str, Any], i: int, source: str) -> dict[str, Any]:
    if "phrase" in row and "word_list" in row:  # HESEIA
        words = [str(w) for w in as_list(row["word_list"])]
        return {"id": f"heseia:{i}", "lang": "es", "locale": "es_AR",
                "axis": "+".join(str(t) for t in as_list(row.get("tipo_de_sesgo_explorado")) if t) or "none",
                "template": str(row["phrase"]).replace("*", SLOT, 1),
                "groups": {w: w for w in words}, "targets": [], "stereotyped_group": None}
    for key in ("template", "groups"):
        if key not in row:
            raise DataError(f"{source}: template row {i + 1} has no {key!r} "
                            "(expected template/groups/targets, or HESEIA phrase/word_list)")
    if SLOT not in str(row["template"]):
        raise DataError(f"{source}: template {row.get('id', i + 1)} has no {SLOT} slot")
    targets = [str(t) for t in as_list(row.get("targets"))]
    if len(targets) < 2:
        raise DataError(f"{source}: template {row.get('id', i + 1)} needs >= 2 targets")
    groups = row["groups"]
    if isinstance(groups, str):
        import json

        groups = json.loads(groups)
    return {"id": str(row.get("id", i)), "lang": str(row.get("lang", "")),
            "locale": str(row.get("locale", "")), "axis": str(row.get("axis", "")),
            "template": str(row["template"]), "groups": {str(k): str(v) for k, v in groups.items()},
            "targets": targets, "stereotyped_group": row.get("stereotyped_group") or None}


def lab_templates(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Lab dataset rows (one per subject x language x template) as templates.

    The groups of a template are the subjects, labelled by `subject_id` (the same in
    every language), so a subject's rows pool across languages.
    """
    cells: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row.get("axis", ""), row["language"], row["template"], row["prompt"])
        if key not in cells:
            n = sum(k[:3] == key[:3] for k in cells)
            tid = ":".join(key[:3]) + (f":{n + 1}" if n else "")
        cell = cells.setdefault(key, {
            "id": tid, "lang": row["language"], "locale": "",
            "axis": row.get("axis", ""), "template": row["prompt"].replace("{}", SLOT),
            "groups": {}, "targets": list(row["targets"]), "stereotyped_group": None,
            "split": row.get("split", "")})
        cell["groups"][row["subject_id"]] = row["subject"]
    return list(cells.values())


def score_templates(model: Any, templates: Sequence[dict[str, Any]], *, batch_size: int = 32,
                    progress: bool = True) -> list[dict[str, Any]]:
    """One tidy row per (template, group) with its log-probabilities and log-odds."""
    jobs = [(t, g, t["template"].replace(SLOT, fill)) for t in templates for g, fill in t["groups"].items()]
    values: list[list[float]] = [[] for _ in jobs]

    def by_targets(chunk: Sequence[int]) -> list[list[float]]:
        return choice_logprobs(model, [jobs[i][2] for i in chunk],
                               [jobs[i][0]["targets"][:2] for i in chunk], batch_size=batch_size)

    def by_sentence(chunk: Sequence[int]) -> list[list[float]]:
        sums = sentence_logprobs(model, [jobs[i][2] for i in chunk], batch_size=batch_size)[0]
        return [[v] for v in sums.tolist()]

    for has_targets, fn in ((True, by_targets), (False, by_sentence)):
        part = [i for i, job in enumerate(jobs) if bool(job[0]["targets"]) == has_targets]
        for i, v in zip(part, in_chunks(fn, part, "templates", progress=progress), strict=True):
            values[i] = v
    rows = []
    for (t, g, text), v in zip(jobs, values, strict=True):
        row = {"item_id": f"{t['id']}:{g}", "template_id": t["id"], "language": t["lang"],
               "axis": t["axis"], "group": g, "split": t.get("split", ""), "text": text}
        if t["targets"]:
            row.update(lp_first=v[0], lp_second=v[1], log_odds=v[0] - v[1],
                       p_first=1.0 / (1.0 + math.exp(-(v[0] - v[1]))))
        else:
            row.update(ll=v[0])
        rows.append(row)
    _within_template(rows, {t["id"]: t for t in templates})
    return rows


def _within_template(rows: list[dict[str, Any]], templates: dict[str, dict[str, Any]]) -> None:
    """Add per-template comparisons: centred log-odds, stereotype gap, HESEIA spread."""
    by_template: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_template[row["template_id"]].append(row)
    for tid, members in by_template.items():
        t = templates[tid]
        if t["targets"]:
            mean = sum(r["log_odds"] for r in members) / len(members)
            stereo = t["stereotyped_group"]
            others = [r["log_odds"] for r in members if r["group"] != stereo]
            for r in members:
                r["gap"] = r["log_odds"] - mean if len(members) > 1 else math.nan
                r["prob_gap"] = 2.0 * r["p_first"] - 1.0
                r["abs_prob_gap"] = abs(r["prob_gap"])
                r["is_stereotyped"] = int(stereo is not None and r["group"] == stereo)
                r["stereotype_gap"] = (r["log_odds"] - sum(others) / len(others)
                                       if r["is_stereotyped"] and others else math.nan)
        else:
            lls = [r["ll"] for r in members]
            top = max(lls)
            norm = top + math.log(sum(math.exp(x - top) for x in lls))
            for k, r in enumerate(members):
                r["logp_norm"] = r["ll"] - norm
                r["is_first"] = int(k == 0)
                r["spread"] = top - min(lls) if k == 0 and len(members) > 1 else math.nan


def template_metrics(items: list[dict[str, Any]], *, n_boot: int = 1000, seed: int = 0,
                     per_language: bool = True) -> list[Metric]:
    """The per-group, stereotype-gap and spread metrics of `score_templates` rows."""
    kw = {"n_boot": n_boot, "seed": seed}
    out: list[Metric] = []
    langs = [lang for lang in unique(r["language"] for r in items) if lang]
    scoped = [{}] + ([{"language": lang} for lang in langs] if per_language and len(langs) > 1 else [])
    targeted = [r for r in items if "log_odds" in r]
    for scope in scoped:
        rows = [r for r in targeted if all(r.get(k) == v for k, v in scope.items())]
        for axis, group in unique((r["axis"], r["group"]) for r in rows):
            where = {**scope, "axis": axis, "group": group}
            for name in ("log_odds", "gap", "prob_gap"):
                out.append(metric(name, targeted, "mean", {"x": name}, where=where, **kw))
        for axis in unique(r["axis"] for r in rows):
            # How far from 50/50 the pair is, whichever way: the one number per axis that an
            # equalize edit should bring to 0 (verify's `gap`, here with a CI over prompts).
            out.append(metric("abs_prob_gap", targeted, "mean", {"x": "abs_prob_gap"},
                              where={**scope, "axis": axis}, **kw))
        for axis in unique(r["axis"] for r in rows if r.get("is_stereotyped")):
            out.append(metric("stereotype_gap", targeted, "mean", {"x": "stereotype_gap"},
                              where={**scope, "axis": axis, "is_stereotyped": 1},
                              groups={**scope, "axis": axis}, **kw))
    if any(r.get("is_stereotyped") for r in targeted):
        out.append(metric("stereotype_gap", targeted, "mean", {"x": "stereotype_gap"},
                          where={"is_stereotyped": 1}, groups={}, **kw))
    plain = [r for r in items if "ll" in r]
    if plain:
        out += grouped("spread", plain, "mean", {"x": "spread"}, by="axis",
                       where={"is_first": 1}, **kw)
    return out


def run_templates(model: Any, data: Any = None, *, preset: str | None = None, batch_size: int = 32,
                  limit: int | None = None, n_boot: int = 1000, seed: int = 0,
                  progress: bool = True) -> Scores:
    """Template counterfactuals (biaskit templates, HESEIA, or a `lab:` dataset)."""
    require_causal(model, "templates")
    templates = load_templates(data, model=model, preset=preset, limit=limit)
    items = score_templates(model, templates, batch_size=batch_size, progress=progress)
    metrics = template_metrics(items, n_boot=n_boot, seed=seed)
    return Scores("templates", model.name, tuple(metrics), items_with_ids(items),
                  {"data": describe(data), "limit": limit})


def run_lab_gender_bias(model: Any, data: Any = None, *, preset: str | None = None,
                        split: str = "all", batch_size: int = 32, n_boot: int = 1000, seed: int = 0,
                        progress: bool = True) -> Scores:
    """The lab's planted gender x profession contrast and its control colours.

    Per profession: the she/he `log_odds`, its within-template `gap` and `prob_gap`
    (P(she) - P(he) with the pair renormalised), pooled over languages and per language;
    the same for every control subject (two colours planted at exactly 50%).

    Args:
        model: A lab model (or any causal model; the lab's prompts are used).
        data: Ignored (the lab's `gender_professions` and `controls` datasets are used).
        preset: Lab build (default: the model's own, e.g. `lab-tiny`).
        split: `all`, `train` or `heldout` prompts.
        batch_size: Prompts per forward pass.
        n_boot: Bootstrap replicates.
        seed: Bootstrap seed.
        progress: Show a progress bar.
    """
    return _run_lab_axes("lab:gender_bias", ("gender_professions", "controls"), model,
                         preset=preset, split=split, batch_size=batch_size, n_boot=n_boot,
                         seed=seed, progress=progress)


def run_lab_bias(model: Any, data: Any = None, *, preset: str | None = None, split: str = "all",
                 batch_size: int = 32, n_boot: int = 1000, seed: int = 0,
                 progress: bool = True) -> Scores:
    """Every planted axis of the lab (gender, nationality, age) and the control colours.

    The same metrics as `lab:gender_bias`, with `axis` telling the planted contrast
    apart: she/he per profession, hardworking/lazy per nationality or region,
    modern/traditional per age group. This is the suite to hold against truth.json as a
    whole; `lab:gender_bias` is the quickstart's narrower view.

    Args:
        model: A lab model (or any causal model; the lab's prompts are used).
        data: Ignored (the lab's `gender_professions`, `nationality_traits`,
            `age_traits` and `controls` datasets are used).
        preset: Lab build (default: the model's own).
        split: `all`, `train` or `heldout` prompts.
        batch_size: Prompts per forward pass.
        n_boot: Bootstrap replicates.
        seed: Bootstrap seed.
        progress: Show a progress bar.
    """
    return _run_lab_axes("lab:bias", ("gender_professions", "nationality_traits", "age_traits",
                                      "controls"), model, preset=preset, split=split,
                         batch_size=batch_size, n_boot=n_boot, seed=seed, progress=progress)


def _run_lab_axes(suite: str, datasets: Sequence[str], model: Any, *, preset: str | None,
                  split: str, batch_size: int, n_boot: int, seed: int, progress: bool) -> Scores:
    require_causal(model, suite)
    rows = [r for name in datasets for r in lab_rows(model, name, preset)]
    if split != "all":
        rows = [r for r in rows if r.get("split") == split]
        if not rows:
            raise DataError(f"no lab prompts with split {split!r}; use all, train or heldout")
    items = score_templates(model, lab_templates(rows), batch_size=batch_size, progress=progress)
    metrics = template_metrics(items, n_boot=n_boot, seed=seed)
    return Scores(suite, model.name, tuple(metrics), items_with_ids(items),
                  {"preset": preset or lab_preset(model, None), "split": split})
