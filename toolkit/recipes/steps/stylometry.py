"""`stylometry` step: can the group (variant, profile, stance) be told from a text's style?

Reads texts from a file (`data:`) or from an earlier `generate` step (`from:`, its
generations.jsonl), extracts style features, cross-validates a classifier for `label`
against chance, computes Burrows' Delta between groups, and writes stylometry.json,
tidy CSVs and plots (see docs/analysis/stylometry.md). No model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from biaskit.recipes.step import CheckContext, ParamError, StepContext, StepType, data_param, param

#: What an earlier `generate` step writes, and what this step reads from it.
GENERATIONS_FILE = "generations.jsonl"


@dataclass(frozen=True)
class StylometryParams:
    """Parameters of the `stylometry` step (see docs/analysis/stylometry.md)."""

    label: str = param(help="Column to predict from style (variant, profile, stance...).")
    data: str | None = data_param(None, help="Texts with a label column: a file, data/..., lab:<name>.")
    from_: str | None = field(default=None, metadata={
        "key": "from", "ref": "step", "kinds": ("generate",),
        "help": "An earlier generate step whose generations to read; default: the latest "
                "generate step when `data` is not given."})
    text: str = param("text", help="Column holding the text.")
    language: str = param("auto", help="auto (a `language` column, else detected), en, es, fr, "
                                       "or the name of a column.")
    id: str | None = param(None, help="Column identifying each text in the CSVs (default: row index).")
    clusters: str | None = param(None, help="Column of texts that belong together (respondent, "
                                            "conversation, prompt): kept in one fold, resampled "
                                            "whole. Name it whenever texts are not independent.")
    cv: int = param(5, help="Cross-validation folds (stratified).")
    C: float = param(1.0, help="Inverse L2 strength of the logistic regression.")
    permutations: int = param(100, help="Cross-validations on shuffled labels (the chance level).")
    n_boot: int = param(1000, help="Bootstrap resamples for the CIs of accuracy and F1.")
    top_k: int = param(10, help="Most discriminative features reported per class.")
    n_words: int = param(100, help="Frequent non-function words used as features.")
    char_ngrams: tuple[int, ...] = param((2, 3), help="Character n-gram lengths.")
    n_char_ngrams: int = param(200, help="Frequent character n-grams used as features.")
    n_mfw: int = param(100, help="Most frequent words for Burrows' Delta.")
    where: dict[str, Any] | None = param(None, help="Keep rows whose column equals a value "
                                                    "(or one of a list), e.g. {language: en}.")
    limit: int | None = param(None, help="Use this many rows, drawn with the seed.")
    seed: int | None = param(None, help="Seed (default: the recipe's).")


def check(p: StylometryParams, ctx: CheckContext) -> None:
    """Exactly one source: `data`, `from`, or an earlier generate step."""
    if p.data is not None and p.from_ is not None:
        raise ParamError("from", "give either `data` or `from`, not both")
    if p.data is None and p.from_ is None and "generate" not in ctx.earlier.values():
        raise ParamError(None, "stylometry needs `data:` (a file) or an earlier generate step")
    if p.cv < 2:
        raise ParamError("cv", "key 'cv': at least 2 folds")


def _rows(ctx: StepContext, p: StylometryParams) -> tuple[list[dict[str, Any]], str]:
    from biaskit.errors import DataError
    from biaskit.recipes.data import filter_rows, load_rows, subsample

    if p.data is not None:
        return load_rows(p.data, preset=ctx.lab_preset, where=p.where, limit=p.limit,
                         seed=ctx.seed), p.data
    from biaskit.data import read_rows

    source = p.from_ or ctx.earlier("generate")[-1]
    path = ctx.step_dir(source) / GENERATIONS_FILE
    if not path.is_file():
        raise DataError(f"step {source!r} wrote no {GENERATIONS_FILE}")
    rows = read_rows(path)
    if p.where:
        rows = filter_rows(rows, p.where, str(path))
    if p.limit is not None:
        rows = subsample(rows, p.limit, ctx.seed)
    if not rows:
        raise DataError(f"{path}: no rows left")
    return rows, str(path)


def run(ctx: StepContext, p: StylometryParams) -> dict[str, Any]:
    """Extract features, classify, compute Delta; write the files into the step folder."""
    from biaskit.analysis.stylometry import StylometryConfig, stylometry_analysis
    from biaskit.analysis.stylometry_classify import ClassifierConfig
    from biaskit.analysis.stylometry_features import FeatureConfig
    from biaskit.recipes.data import check_columns

    rows, source = _rows(ctx, p)
    check_columns(rows, [p.text, p.label, p.id, p.clusters], source)
    config = StylometryConfig(
        features=FeatureConfig(n_words=p.n_words, char_ngrams=p.char_ngrams,
                               n_char_ngrams=p.n_char_ngrams),
        classifier=ClassifierConfig(cv=p.cv, C=p.C, n_boot=p.n_boot, permutations=p.permutations,
                                    top_k=p.top_k),
        n_mfw=p.n_mfw, seed=ctx.seed)
    report = stylometry_analysis(rows, p.label, text=p.text, language=p.language, id_column=p.id,
                                 cluster_column=p.clusters, config=config)
    report.save(ctx.out)
    c = report.classification
    return {"accuracy": c.accuracy, "ci_low": c.ci_low, "ci_high": c.ci_high, "chance": c.chance,
            "above_chance": c.above_chance, "p_value": c.p_value, "macro_f1": c.macro_f1,
            "n": c.n, "classes": list(c.classes), "source": source}


def summary(out: dict[str, Any]) -> str:
    """One line for the run summary."""
    return (f"accuracy {out['accuracy']:.2f} [{out['ci_low']:.2f}, {out['ci_high']:.2f}] "
            f"vs chance {out['chance']:.2f} ({len(out['classes'])} classes, {out['n']} texts)")


STEP = StepType(
    kind="stylometry", params=StylometryParams, run=run, check=check, summary=summary,
    needs_model=False,
    description="Style of texts by group: features, cross-validated classifier vs chance, "
                "discriminative features, Burrows' Delta.",
    outputs={"accuracy": float, "ci_low": float, "ci_high": float, "chance": float,
             "above_chance": bool, "p_value": float, "macro_f1": float, "n": int,
             "classes": list[str], "source": str},
)
