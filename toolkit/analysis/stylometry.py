"""Stylometry of texts by group: which variant, profile or stance wrote this, and how?

Input rows are dicts with a text column and label columns, e.g. the battery output of
`biaskit.prompting` (`text`, `variant`, `sample`, and the prompt's variables) or any
file with a user label such as stance. `stylometry_analysis` extracts style features
(`stylometry_features`), trains a cross-validated classifier on them, computes Burrows'
Delta between groups and per-group means of the scalar style measures
(`stylometry_classify`), and `StylometryReport.save` writes JSON, tidy CSVs and plots.

    report = stylometry_analysis(rows, "variant")
    report.classification.accuracy, report.classification.chance
    report.save("runs/stylometry")
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from biaskit.analysis.stylometry_classify import (
    ClassificationResult,
    ClassifierConfig,
    DeltaResult,
    burrows_delta,
    classify_texts,
)
from biaskit.analysis.stylometry_features import (
    LANGUAGES,
    SCALARS,
    FeatureConfig,
    FeatureTable,
    all_function_words,
    detect_language,
    extract_features,
)
from biaskit.errors import DataError

log = logging.getLogger(__name__)

AUTO = "auto"


@dataclass(frozen=True)
class StylometryConfig:
    """Settings of a stylometry analysis.

    Attributes:
        features: Which features (function words, frequent words, n-grams, scalars).
        classifier: Folds, regularisation, bootstrap and permutations of the classifier.
        n_mfw: Most frequent words Burrows' Delta is computed on.
        null_repeats: Group shuffles for the null of Burrows' Delta.
        seed: Seed of everything random (overrides `classifier.seed`).
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    n_mfw: int = 100
    null_repeats: int = 100
    seed: int = 0


@dataclass(frozen=True)
class StylometryReport:
    """Results of a stylometry analysis.

    Attributes:
        label: The label column predicted.
        ids: Id of each text (a column of the input, else the row index).
        labels: Label of each text (as strings).
        features: The feature table.
        classification: Cross-validated classifier results.
        delta: Burrows' Delta between groups.
        group_means: Tidy rows `group`, `feature`, `mean`, `ci_low`, `ci_high`, `n` for
            the scalar style measures.
        config: Settings and the input's description.
    """

    label: str
    ids: list[Any]
    labels: list[str]
    features: FeatureTable
    classification: ClassificationResult
    delta: DeltaResult
    group_means: list[dict[str, Any]]
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> tuple[str, ...]:
        """The groups (sorted)."""
        return self.classification.classes

    def text_rows(self) -> list[dict[str, Any]]:
        """One row per text: id, label, language, words, prediction and scalar measures."""
        names = self.features.names
        scalar_idx = [names.index(s) for s in SCALARS if s in names]
        rows = []
        for i, ident in enumerate(self.ids):
            pred = self.classification.predictions[i]
            rows.append({"id": ident, "label": self.labels[i], "language": self.features.languages[i],
                         "n_words": self.features.n_words[i], "predicted": pred,
                         "correct": pred == self.labels[i],
                         **{names[j]: float(self.features.values[i, j]) for j in scalar_idx}})
        return rows

    def save(self, out: str | Path) -> Path:
        """Write stylometry.json, tidy CSVs and PNGs into folder `out`."""
        from biaskit.analysis.stylometry_plot import save_report

        return save_report(self, out)

    def as_table(self) -> Any:
        """A rich table of per-class F1 with the overall accuracy in the title."""
        from rich.table import Table

        c = self.classification
        table = Table(title=f"predicting '{self.label}' from style: accuracy {c.accuracy:.3f} "
                            f"[{c.ci_low:.3f}, {c.ci_high:.3f}], chance {c.chance:.3f} "
                            f"(p = {c.p_value:.3g})")
        for col in ("class", "texts", "F1 [95% CI]", "top features"):
            table.add_column(col)
        for r in c.per_class:
            top = [t["feature"] for t in c.top_features if t["class"] == r["class"]][:4]
            table.add_row(r["class"], str(r["support"]),
                          f"{r['f1']:.3f} [{r['f1_ci_low']:.3f}, {r['f1_ci_high']:.3f}]",
                          ", ".join(top))
        return table


def text_languages(rows: Sequence[Mapping[str, Any]], text: str, language: str) -> list[str]:
    """Language of each row.

    `language` is `auto` (the rows' `language` column if it holds en/es/fr, else detected
    per text), a fixed `en`/`es`/`fr`, or the name of a column.
    """
    if language in LANGUAGES:
        return [language] * len(rows)
    column = "language" if language == AUTO else language
    if rows and column in rows[0]:
        values = [str(r.get(column)) for r in rows]
        bad = sorted(set(values) - set(LANGUAGES))
        if not bad:
            return values
        if language != AUTO:
            raise DataError(f"column {column!r} holds {bad[0]!r}; stylometry knows "
                            f"{', '.join(LANGUAGES)}")
    elif language != AUTO:
        columns = ", ".join(rows[0]) if rows else ""
        raise DataError(f"no column {column!r} for the language; columns: {columns}")
    lists = all_function_words()
    return [detect_language(str(r[text]), lists) for r in rows]


def stylometry_analysis(rows: Sequence[Mapping[str, Any]], label: str, *, text: str = "text",
                        language: str = AUTO, id_column: str | None = None,
                        cluster_column: str | None = None,
                        config: StylometryConfig = StylometryConfig()) -> StylometryReport:
    """Style features, a cross-validated classifier for `label`, Delta and group means.

    Args:
        rows: Dicts with a `text` column and a `label` column.
        label: The column to predict (variant, profile, stance...).
        text: The text column.
        language: `auto`, `en`, `es`, `fr`, or a column holding one of those per row.
        id_column: Column identifying each text in the outputs (default: row index).
        cluster_column: Column saying which texts belong together (a respondent, a
            conversation, a prompt). Texts of one cluster are not independent; naming
            it keeps each cluster in one fold and makes the CIs and chance levels
            resample whole clusters. Without it a classifier may "predict" a label by
            recognising respondents, and look above chance where nothing was planted.
        config: What to compute.

    Rows whose label is missing (None, NaN or blank, as a battery writes for a variable
    its template does not use) belong to no group: they are left out with a logged
    count (`config["n_unlabelled"]`), never counted as a class of their own. Default ids
    stay the rows' indices in the input.

    Raises:
        DataError: Missing columns, no labelled row, empty texts only, fewer than two groups.
    """
    rows = list(rows)
    if not rows:
        raise DataError("no rows for stylometry")
    if not any(label in r for r in rows):
        raise DataError(f"no column {label!r} in the rows; columns: {', '.join(rows[0])}")
    positions, n_unlabelled = labelled_positions(rows, label)
    rows = [rows[i] for i in positions]
    for column in (text, id_column, cluster_column):
        if column is not None and column not in rows[0]:
            raise DataError(f"no column {column!r} in the rows; columns: {', '.join(rows[0])}")
    texts = [str(r[text] or "") for r in rows]
    labels = [str(r[label]) for r in rows]
    if not any(t.strip() for t in texts):
        raise DataError(f"every text in column {text!r} is empty")
    ids = [r[id_column] for r in rows] if id_column else positions  # input row index
    langs = text_languages(rows, text, language)
    features = extract_features(texts, config.features, languages=langs)
    classifier = dataclasses.replace(config.classifier, seed=config.seed)
    clusters = [r[cluster_column] for r in rows] if cluster_column else None
    result = classify_texts(features, labels, classifier, clusters=clusters)
    delta = burrows_delta(texts, labels, languages=langs, n_mfw=config.n_mfw,
                          null_repeats=config.null_repeats, seed=config.seed,
                          level=classifier.level, clusters=clusters)
    settings = dataclasses.asdict(config)
    settings["classifier"]["seed"] = config.seed
    settings.update({"label": label, "text": text, "language": language, "n": len(rows),
                     "n_unlabelled": n_unlabelled,
                     "clusters": cluster_column,
                     "n_clusters": len(set(map(str, clusters))) if clusters else None,
                     "languages": dict(sorted(_counts(langs).items())),
                     "group_sizes": dict(sorted(_counts(labels).items()))})
    return StylometryReport(label=label, ids=ids, labels=labels, features=features,
                            classification=result, delta=delta,
                            group_means=_group_means(features, labels, config.seed, clusters),
                            config=settings)


def missing_label(value: Any) -> bool:
    """Whether a label cell holds no label: absent, None, NaN, or blank text.

    A battery's output sets the variables a template does not use to None (written as
    an empty CSV cell); such a row has no class, and counting "None" as one would make
    the classifier "predict" which template a text came from.
    """
    if value is None:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def labelled_positions(rows: Sequence[Mapping[str, Any]], label: str) -> tuple[list[int], int]:
    """Indices of the rows that have a label in column `label`, and how many do not (logged).

    Raises:
        DataError: No row has a label.
    """
    kept = [i for i, r in enumerate(rows) if not missing_label(r.get(label))]
    dropped = len(rows) - len(kept)
    if not kept:
        raise DataError(f"no row has a value in column {label!r} (all {len(rows)} are empty)")
    if dropped:
        log.warning("stylometry: %d of %d rows have no %r (None or empty) and were left out",
                    dropped, len(rows), label)
    return kept, dropped


def _counts(values: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def _group_means(features: FeatureTable, labels: Sequence[str], seed: int,
                 clusters: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """Per group, the mean of each scalar style measure with a 95% CI.

    The CI resamples the group's texts, or its clusters when clusters are given.
    """
    from biaskit.analysis.resampling import group_codes, mean_ci
    from biaskit.eval.stats import SMALL_N, t_interval

    y = np.array(labels)
    rows = []
    for name in SCALARS:
        if name not in features.names:
            continue
        col = features.values[:, features.names.index(name)]
        for g in sorted(set(labels)):
            mask = y == g
            x = col[mask]
            cl = group_codes([c for c, m in zip(clusters, mask, strict=True) if m], int(mask.sum())) \
                if clusters is not None else None
            units = x.size if cl is None else int(cl.max()) + 1
            if units < SMALL_N:  # a rate is not a 0/1 share: no Wilson interval here
                means = x if cl is None else np.bincount(cl, weights=x) / np.bincount(cl)
                mean, (lo, hi) = float(x.mean()), t_interval(means)
            else:
                mean, lo, hi = mean_ci(x, cl, n_boot=500, seed=seed)
            rows.append({"group": g, "feature": name, "mean": mean, "ci_low": lo, "ci_high": hi,
                         "n": int(mask.sum())})
    return rows
