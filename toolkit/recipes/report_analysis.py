"""Report sections of the analysis steps: embed, stylometry, attention and generate.

Like `biaskit.recipes.report_sections`, each function reads one earlier step's files and
outputs and writes plain-language blocks for a reader who is not an ML engineer: what
was measured, the answer in one sentence with its confidence interval against what
chance gives, a short table, and the step's own plots. A file that is missing (a folder
moved or cleaned by hand) is said so in the report; the rest of the section still shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from biaskit.io import read_json
from biaskit.recipes.document import Document, Heading, Image, Para, Table, fmt, fmt_ci

#: Images of one kind shown at most per section (the rest are listed as files).
MAX_IMAGES = 4
#: Generated answers shown per model version in the generate section.
SAMPLES_PER_VARIANT = 2
#: Characters of a prompt or answer shown in the samples table.
CLIP = 160
STYLE_NAMES = {"ttr": "vocabulary richness (type-token ratio)",
               "mattr": "vocabulary richness (moving-window type-token ratio)",
               "mean_sentence_length": "sentence length", "mean_word_length": "word length"}

GLOSSARY: dict[str, tuple[str, ...]] = {
    "embed": ("**Silhouette**: how much closer a text is to texts of its own group than to the "
              "nearest other group, from −1 to 1; 0 means no grouping.",
              "**kNN purity**: the share of a text's nearest neighbours that come from its own "
              "group, corrected so that 0 is what random labels give.",
              "**Shuffled labels (null)**: the same measure after the group labels were shuffled "
              "at random; what \"no separation\" looks like on these texts."),
    "stylometry": ("**Cross-validation**: the classifier is always scored on texts it did not "
                   "learn from, so its accuracy is not memorisation.",
                   "**F1**: a per-group score combining how many of the group's texts were found "
                   "and how many texts attributed to it really were its own (1 = perfect).",
                   "**Burrows' Delta**: how differently two groups use the most frequent words "
                   "(0 = the same habits), a classic measure of authorship."),
    "attention": ("**Attention head**: one of the small units in each layer that decides which "
                  "earlier words the model looks at; its weights over the earlier words sum to 1.",),
    "generate": ("**Model version (variant)**: the base model, or the base model with an adapter "
                 "or an edit applied.",),
}


def missing(doc: Document, name: str, files: Sequence[str]) -> None:
    """Say that files of step `name` are missing, so part of its section is left out."""
    listed = ", ".join(f"`{name}/{f}`" for f in files)
    doc.add(Para(f"Not shown: {listed} could not be found (the step's folder may have been "
                 "moved or cleaned), so this part of the section is left out.", "note"))


def _words(values: Sequence[Any], limit: int = 6) -> str:
    shown = [str(v) for v in values[:limit]]
    return ", ".join(shown) + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _above(value: float | None, low: float | None, null_high: float | None) -> bool:
    return None not in (value, low, null_high) and low > null_high  # type: ignore[operator]


def embed_section(doc: Document, name: str, step_dir: Path, params: Mapping[str, Any],
                  out: Mapping[str, Any]) -> None:
    """Do the groups sit apart inside the model? Separation per layer against shuffled labels."""
    label, variants, groups = params.get("label", "label"), out["variants"], out["groups"]
    pooling = ("the last word's internal state" if params.get("pooling") == "last"
               else "the average of its words' internal states")
    doc.add(Heading(f"Do texts with a different *{label}* sit apart inside the model? (step `{name}`)"),
            Para(f"We passed {out['n']} texts from `{params.get('data')}` through the model and, at "
                 f"every layer, summarised each text as one point ({pooling}). If texts of the same "
                 f"*{label}* ({_words(groups)}) lie closer to each other than to the other groups' "
                 "texts, the model keeps that difference in its internal state. *Silhouette* "
                 "measures it from −1 to 1 (0: no grouping); the same texts with their labels "
                 "shuffled at random show what no separation looks like."))
    if len(variants) > 1:
        doc.add(Para(f"This was repeated for every version of the model ({_words(variants)}): "
                     "the same texts, read by each version."))
    path = step_dir / "embeddings.json"
    metrics = read_json(path)["metrics"] if path.exists() else None
    best = out["best_layer"]
    if metrics is None:
        doc.add(Para(f"**Result:** separation is highest at **layer {best}** (silhouette "
                     f"{fmt(out['silhouette'])}; shuffled labels {fmt(out['silhouette_null'])})."))
        missing(doc, name, ["embeddings.json"])
    else:
        rows, first = [], None
        for variant in variants:
            recs = {(r["layer"], r["metric"]): r for r in metrics if r["variant"] == variant}
            layers = sorted({layer for layer, m in recs if m == "silhouette"})
            if not layers:
                continue
            top = max(layers, key=lambda layer: (recs[(layer, "silhouette")]["value"], -layer))
            sil, knn = recs[(top, "silhouette")], recs.get((top, "knn_purity"))
            apart = _above(sil["value"], sil["ci_low"], sil.get("null_high"))
            first = first or (variant, top, sil, apart)
            rows.append((variant, str(top), f"{fmt(sil['value'])} {fmt_ci(sil['ci_low'], sil['ci_high'])}",
                         f"{fmt(sil.get('null_mean'))} {fmt_ci(sil.get('null_low'), sil.get('null_high'))}",
                         f"{fmt(knn['value'])} {fmt_ci(knn['ci_low'], knn['ci_high'])}" if knn else "n/a",
                         "yes" if apart else "no"))
        if first is not None:
            variant, top, sil, apart = first
            who = f" for `{variant}`" if len(variants) > 1 else ""
            doc.add(Para(f"**Result{who}:** the groups are best separated at **layer {top}** (silhouette "
                         f"{fmt(sil['value'])}, 95% CI {fmt_ci(sil['ci_low'], sil['ci_high'])}; with "
                         f"shuffled labels {fmt(sil.get('null_mean'))}). " +
                         ("That is clearly more than chance: the model tells these groups apart."
                          if apart else "That is not clearly more than chance: these texts do not "
                          "form distinct groups inside the model."), "good" if apart else "note"))
        doc.add(Table(("model version", "best layer", "silhouette [95% CI]",
                       "shuffled labels [95% range]", "kNN purity [95% CI]", "apart?"), tuple(rows),
                      caption="One row per model version, at its best layer. \"apart?\" is yes when the "
                              "whole interval lies above the shuffled-label range. Every layer's "
                              f"values are in `{name}/embedding_metrics.csv`.", right=(1, 2, 3, 4)))
    if (step_dir / "embedding_separation.png").exists():
        doc.add(Image(step_dir / "embedding_separation.png",
                      "Separation per layer (coloured lines, with 95% bands) against shuffled labels "
                      "(grey): where a line leaves the grey band, that layer separates the groups."))
    else:
        missing(doc, name, ["embedding_separation.png"])
    maps = sorted(step_dir.glob("embedding_map_*.png"))
    for path in maps[:MAX_IMAGES]:
        method = path.stem[len("embedding_map_"):].split("_", 1)
        what = f" read by `{method[1]}`" if len(method) > 1 else ""
        doc.add(Image(path, f"A 2-D map ({method[0].upper()}) of the texts{what}, one panel per "
                            "layer, coloured by group. Maps are for looking only: distances are "
                            "distorted; the numbers above come from the full space."))
    if len(maps) > MAX_IMAGES:
        doc.add(Para(f"{len(maps) - MAX_IMAGES} more maps are in `{name}/`; the coordinates of every "
                     f"text are in `{name}/embedding_coordinates.csv`."))


def _feature(name: str) -> str:
    """A feature name a reader can follow (`c:ab_` -> letters "ab␣")."""
    kind, _, rest = name.partition(":")
    rest = rest.replace("`", "'")
    if kind in ("fw", "w"):
        return f"the word `{rest}`"
    if kind == "c":
        return f"letters `{rest.replace('_', '␣')}`"
    if kind == "punct":
        return f"{rest} marks"
    return STYLE_NAMES.get(name, name.replace("_", " "))


def stylometry_section(doc: Document, name: str, step_dir: Path, params: Mapping[str, Any],
                       out: Mapping[str, Any]) -> None:
    """Can the group be told from the style of its texts? Accuracy against chance, features, Delta."""
    label, classes = params.get("label", "label"), out["classes"]
    doc.add(Heading(f"Can the *{label}* be told from the writing style? (step `{name}`)"),
            Para(f"Each of the {out['n']} texts (from `{Path(str(out['source'])).name}`) was described "
                 "by its style only: how often it uses common words (the, of, and...) and other "
                 "frequent words, short letter sequences, sentence and word length, vocabulary "
                 f"richness and punctuation. A classifier learned to tell the {len(classes)} groups "
                 f"of *{label}* apart ({_words(classes)}) from these features, and was always scored "
                 "on texts it had not learned from. *Chance* is what the same procedure reaches "
                 "with shuffled labels (or by always guessing the largest group)."))
    verdict = ("the groups write in distinguishable ways." if out["above_chance"] else
               "this is not clearly better than chance: the groups' styles cannot be told apart "
               "from these texts.")
    doc.add(Para(f"**Result:** accuracy **{fmt(out['accuracy'])}** (95% CI "
                 f"{fmt_ci(out['ci_low'], out['ci_high'])}) against chance {fmt(out['chance'])} "
                 f"(p = {fmt(out['p_value'], 2)}): {verdict}", "good" if out["above_chance"] else "note"))
    path = step_dir / "stylometry.json"
    if not path.exists():
        missing(doc, name, ["stylometry.json"])
        info: dict[str, Any] = {}
    else:
        info = read_json(path)
    dropped = (info.get("config") or {}).get("n_unlabelled")
    if dropped:
        texts, were = ("1 text", "was") if dropped == 1 else (f"{dropped} texts", "were")
        doc.add(Para(f"{texts} had no *{label}* (an empty cell) and {were} left out.", "note"))
    if info:
        top: dict[str, list[str]] = {}
        for r in sorted(info.get("top_features", []), key=lambda r: r["rank"]):
            top.setdefault(str(r["class"]), []).append(_feature(str(r["feature"])))
        rows = tuple((str(r["class"]), str(r["support"]),
                      f"{fmt(r['f1'])} {fmt_ci(r.get('f1_ci_low'), r.get('f1_ci_high'))}",
                      ", ".join(top.get(str(r["class"]), [])[:5]) or "n/a")
                     for r in info.get("per_class", []))
        doc.add(Table(("group", "texts", "F1 [95% CI]", "what points to this group most"), rows,
                      caption="The features are those that push the classifier most towards each "
                              f"group; all of them, with their weights, are in "
                              f"`{name}/stylometry_top_features.csv`.", right=(1, 2)))
    for file, caption in (("stylometry_confusion.png",
                           "Confusion matrix: rows are the true groups, columns the groups the "
                           "classifier chose. A strong diagonal means each group's texts were "
                           "recognised as its own."),
                          ("stylometry_top_features.png",
                           "The features that point most to each group (longer bar: stronger).")):
        if (step_dir / file).exists():
            doc.add(Image(step_dir / file, caption))
        else:
            missing(doc, name, [file])
    delta = info.get("delta") or []
    if delta:
        doc.add(Heading("How different are the groups' word habits? (Burrows' Delta)", 3),
                Para("Burrows' Delta compares how often two groups use the most frequent words "
                     f"({len(info.get('delta_words', []))} words here): 0 means the same habits, "
                     "larger means more different. The shuffled-groups range shows the Delta that "
                     "chance alone gives with groups of these sizes."),
                Table(("group", "other group", "Delta", "shuffled groups [95% range]", "p",
                       "more than chance?"),
                      tuple((str(r["group_a"]), str(r["group_b"]), fmt(r["delta"]),
                             f"{fmt(r.get('null_mean'))} {fmt_ci(r.get('null_low'), r.get('null_high'))}",
                             fmt(r.get("p_value"), 2),
                             "yes" if _above(r["delta"], r["delta"], r.get("null_high")) else "no")
                            for r in delta), right=(2, 3, 4)))
        if (step_dir / "stylometry_delta.png").exists():
            doc.add(Image(step_dir / "stylometry_delta.png",
                          "Burrows' Delta between every pair of groups (darker: more different)."))


def _attention_json(step_dir: Path, variant: str, multi: bool) -> Path:
    return (step_dir / variant if multi else step_dir) / "attention.json"


def attention_section(doc: Document, name: str, step_dir: Path, params: Mapping[str, Any],
                      out: Mapping[str, Any]) -> None:
    """Which heads look from the target slot to the group term, and which changed between versions."""
    variants, multi = out["variants"], len(out["variants"]) > 1
    reference = variants[0]
    term = params.get("group") or "the marked term"
    doc.add(Heading(f"Where does the model look? Attention to the group term (step `{name}`)"),
            Para(f"For {out['n_items']} sentences from `{params.get('data')}` (such as \"The nurse said "
                 f"that …\"), we read how much each *attention head* looks from the word being "
                 f"predicted back to the group term (column `{term}`). A head that spread its "
                 f"attention evenly over the sentence would put {fmt(out['uniform'])} on the term. "
                 "Attention shows where the model looks, not what it uses: causal tracing tests "
                 "the latter."),
            Para(f"**Result{f' for `{reference}`' if multi else ''}:** the head that looks most at the "
                 f"term is **layer {out['top_layer']}, head {out['top_head']}** (weight "
                 f"{fmt(out['top_weight'])}, against {fmt(out['uniform'])} if evenly spread)."))
    path = _attention_json(step_dir, reference, multi)
    if path.exists():
        heads = read_json(path).get("top_heads", {}).get("all", [])[:5]
        doc.add(Table(("layer", "head", "weight on the term [95% CI]", "if evenly spread"),
                      tuple((str(h["layer"]), str(h["head"]),
                             f"{fmt(h['mean'])} {fmt_ci(h['ci_low'], h['ci_high'])}", fmt(h["uniform"]))
                            for h in heads),
                      caption=f"The five heads looking most at the term ({reference}); every head is "
                              f"in `{path.parent.relative_to(step_dir.parent)}/attention.csv`.",
                      right=(0, 1, 2, 3)))
    else:
        missing(doc, name, [str(path.relative_to(step_dir))])
    heatmap = path.parent / "attention_heatmap.png"
    if heatmap.exists():
        doc.add(Image(heatmap, "Weight on the term for every layer (rows) and head (columns): "
                               "darker = the head looks more at the term."))
    if not multi:
        return
    changed = out.get("changed_heads", {})
    doc.add(Heading(f"Which heads changed from `{reference}` to the other versions?", 3),
            Para("Each head's weight on the term was compared on the same sentences between the "
                 "reference and each other version (paired bootstrap); a head counts as *changed* "
                 "when the change stays significant after correcting for testing every head at "
                 "once (false discovery rate 5%)."))
    rows, images = [], []
    for file in sorted(step_dir.glob("compare_*.json")):
        cmp = read_json(file)
        heads = (cmp.get("changed") or {}).get("all", [])
        big = max(heads, key=lambda h: abs(h["diff"]), default=None)
        rows.append((str(cmp["variant"]), str(len(heads)),
                     (f"layer {big['layer']}, head {big['head']}: {fmt(big['diff'])} "
                      f"{fmt_ci(big['ci_low'], big['ci_high'])}") if big else "none"))
        if file.with_suffix(".png").exists():
            images.append((file.with_suffix(".png"), str(cmp["variant"])))
    if not rows:  # the comparison files are gone: the counts are still in the outputs
        rows = [(v, str(n), "n/a") for v, n in changed.items()]
        missing(doc, name, ["compare_*.json"])
    doc.add(Table(("version", "heads changed", "largest change [95% CI]"), tuple(rows),
                  caption=f"Against `{reference}`; every head, with its q-value, is in "
                          f"`{name}/compare_<version>.csv`.", right=(1,)))
    for png, variant in images[:MAX_IMAGES]:
        doc.add(Image(png, f"Change of each head's weight on the term, `{variant}` minus `{reference}`."))


def generate_section(doc: Document, name: str, step_dir: Path, params: Mapping[str, Any],
                     out: Mapping[str, Any]) -> None:
    """How many answers, from which model versions, and a few of them."""
    config_path = step_dir / "generate.json"
    config = read_json(config_path) if config_path.exists() else {}
    s = config.get("sampling") or {k: params.get(k) for k in ("temperature", "top_p", "max_new_tokens")}
    how = (f"sampled at temperature {fmt(s.get('temperature'))}, top-p {fmt(s.get('top_p'))}"
           if s.get("do_sample", params.get("do_sample", True)) else "greedy decoding")
    doc.add(Heading(f"What the model versions wrote (step `{name}`)"),
            Para(f"**{out['n_rows']} answers** were generated: {out['n_prompts']} prompts from the "
                 f"battery `{Path(str(params.get('battery'))).name}` × {len(out['variants'])} model "
                 f"versions ({_words(out['variants'])}) × {out['repeats']} samples each ({how}, at "
                 f"most {s.get('max_new_tokens')} new tokens, {fmt(out['mean_tokens'])} on average). "
                 "Each prompt and sample has its own fixed seed, so the run can be repeated exactly; "
                 f"every answer with all its prompt's variables is in `{name}/generations.csv`."))
    path = step_dir / "generations.jsonl"
    if not path.exists():
        missing(doc, name, ["generations.jsonl"])
        return
    from biaskit.data import read_rows

    rows = read_rows(path)
    first = rows[0].get("prompt_id") if rows else None
    shown: list[tuple[str, ...]] = []
    for variant in out["variants"]:
        mine = [r for r in rows if r.get("variant") == variant]
        mine.sort(key=lambda r: (r.get("prompt_id") != first, r.get("sample", 0)))
        for r in mine[:SAMPLES_PER_VARIANT]:
            shown.append((str(variant), _clip(str(r.get("prompt", ""))), _clip(str(r.get("text", "")))))
    doc.add(Table(("model version", "prompt", "answer"), tuple(shown),
                  caption=f"The first samples of one prompt for each version (long texts cut at "
                          f"{CLIP} characters)."))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CLIP else text[:CLIP - 1] + "…"


def glossary(kinds: Sequence[str]) -> tuple[str, ...]:
    """Glossary entries for the analysis steps present in a run."""
    return tuple(item for kind in dict.fromkeys(kinds) for item in GLOSSARY.get(kind, ()))
