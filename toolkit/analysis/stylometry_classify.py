"""Who wrote it? A cross-validated style classifier and Burrows' Delta between groups.

The classifier answers "can the variant (or profile, or stance) be told from the style
of a text?": logistic regression on standardised features, evaluated on texts it did not
see (stratified folds), against two chance levels (always guessing the largest class,
and the same classifier trained on shuffled labels). Burrows' Delta (Burrows 2002)
answers "how different are the groups' habits with frequent words?" as one distance per
pair of groups, without any training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from biaskit.analysis.stylometry_features import FeatureTable, tokenize
from biaskit.errors import DataError

_MAX_CELLS = 4_000_000  # bootstrap weights per chunk (b x n), about 32 MB


@dataclass(frozen=True)
class ClassifierConfig:
    """Settings of the style classifier.

    Attributes:
        cv: Stratified folds (lowered to the size of the smallest class when needed).
        C: Inverse L2 strength of the logistic regression.
        seed: Seed of the folds, the bootstrap and the label shuffles.
        n_boot: Bootstrap resamples for the CIs of accuracy and F1.
        permutations: Cross-validations on shuffled labels for the permutation
            baseline (0: only the majority baseline).
        top_k: Most discriminative features reported per class.
        max_iter: Optimiser steps of the logistic regression.
        level: Confidence level.
    """

    cv: int = 5
    C: float = 1.0
    seed: int = 0
    n_boot: int = 1000
    permutations: int = 100
    top_k: int = 10
    max_iter: int = 2000
    level: float = 0.95


@dataclass(frozen=True)
class ClassificationResult:
    """Out-of-fold performance of the style classifier.

    Attributes:
        classes: Class names (sorted).
        n: Texts classified.
        folds: Folds used.
        accuracy: Share of texts whose class was predicted right by a model that had not
            seen them; `ci_low`/`ci_high` its bootstrap CI.
        majority: Accuracy of always answering the largest class.
        permutation_mean: Mean accuracy of the same procedure on shuffled labels (the
            chance level for these texts); `permutation_low`/`_high` the middle 95%.
        p_value: Share of shuffles at least as accurate as the real labels (+1 corrected).
        permutations: Number of shuffles (p_value is never below 1 / (permutations + 1)).
        macro_f1: Mean F1 over classes, with `macro_f1_ci_low`/`_high`.
        per_class: Rows `class`, `precision`, `recall`, `f1`, `f1_ci_low`, `f1_ci_high`,
            `support`.
        confusion: Counts [true class][predicted class], in `classes` order.
        top_features: Rows `class`, `rank`, `feature`, `kind`, `weight` (logistic
            coefficient on standardised values: + pushes towards the class),
            `mean_in_class`, `mean_elsewhere` (raw feature values).
        predictions: Out-of-fold predicted class of each text.
    """

    classes: tuple[str, ...]
    n: int
    folds: int
    accuracy: float
    ci_low: float
    ci_high: float
    majority: float
    permutation_mean: float
    permutation_low: float
    permutation_high: float
    p_value: float
    permutations: int
    macro_f1: float
    macro_f1_ci_low: float
    macro_f1_ci_high: float
    per_class: list[dict[str, Any]] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)
    top_features: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)

    @property
    def chance(self) -> float:
        """The higher of the two chance levels (majority class, shuffled labels)."""
        perm = self.permutation_mean
        return self.majority if not np.isfinite(perm) else max(self.majority, perm)

    @property
    def above_chance(self) -> bool:
        """Whether the accuracy CI lies wholly above chance and the shuffles agree.

        "Agree": fewer than 5% of the shuffled-label runs did as well, or none did when
        there were too few shuffles for a p-value under 0.05.
        """
        p_ok = (not np.isfinite(self.p_value) or self.p_value < 0.05
                or self.p_value <= 1.0 / (self.permutations + 1) + 1e-12)
        return bool(self.ci_low > self.chance and p_ok)

    def summary(self) -> dict[str, Any]:
        """Scalar results (no per-text lists), for JSON and recipe outputs."""
        keys = ("n", "folds", "accuracy", "ci_low", "ci_high", "majority", "permutation_mean",
                "permutation_low", "permutation_high", "p_value", "permutations", "macro_f1",
                "macro_f1_ci_low", "macro_f1_ci_high")
        return {"classes": list(self.classes), **{k: getattr(self, k) for k in keys},
                "chance": self.chance, "above_chance": self.above_chance}


def _cv_predict(x: np.ndarray, y: np.ndarray, folds: int, config: ClassifierConfig,
                clusters: np.ndarray | None = None) -> np.ndarray:
    """Out-of-fold predictions; with clusters, each cluster stays within one fold."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pred = np.empty_like(y)
    if clusters is None:
        splits = StratifiedKFold(n_splits=folds, shuffle=True,
                                 random_state=config.seed).split(x, y)
    else:
        splits = StratifiedGroupKFold(n_splits=folds, shuffle=True,
                                      random_state=config.seed).split(x, y, clusters)
    for train, test in splits:
        if np.unique(y[train]).size < 2:  # a fold whose training part has one class
            pred[test] = y[train][0]
            continue
        model = make_pipeline(StandardScaler(),
                              LogisticRegression(C=config.C, max_iter=config.max_iter))
        model.fit(x[train], y[train])
        pred[test] = model.predict(x[test])
    return pred


def _f1_replicates(y: np.ndarray, pred: np.ndarray, n_classes: int, n_boot: int,
                   seed: int, clusters: np.ndarray | None = None) -> np.ndarray:
    """Bootstrap replicates [b, classes] of per-class F1 over the out-of-fold predictions."""
    from biaskit.analysis.resampling import item_weights

    rng = np.random.default_rng(seed)
    n = y.size
    chunk = max(1, _MAX_CELLS // n)
    out = []
    for start in range(0, n_boot, chunk):
        w = item_weights(n, clusters, min(chunk, n_boot - start), rng)
        cols = []
        for c in range(n_classes):
            tp = w @ ((y == c) & (pred == c)).astype(float)
            wrong = w @ ((y == c) ^ (pred == c)).astype(float)  # false negatives + false positives
            with np.errstate(invalid="ignore", divide="ignore"):
                cols.append(np.where(2 * tp + wrong > 0, 2 * tp / (2 * tp + wrong), np.nan))
        out.append(np.column_stack(cols))
    return np.concatenate(out) if out else np.zeros((0, n_classes))


def classify_texts(features: FeatureTable, labels: Sequence[Any],
                   config: ClassifierConfig = ClassifierConfig(), *,
                   clusters: Sequence[Any] | None = None) -> ClassificationResult:
    """Cross-validated logistic regression predicting `labels` from style features.

    Args:
        features: The feature table.
        labels: The class of each text.
        config: Folds, regularisation, bootstrap and permutations.
        clusters: Cluster of each text (respondent, prompt...) when texts are not
            independent: folds keep a cluster together (a classifier must not recognise a
            respondent it saw in training), CIs resample whole clusters, and the
            permutation baseline shuffles labels only as the clusters allow.

    Raises:
        DataError: Fewer than two classes, or a class with a single text.
    """
    from biaskit.analysis.resampling import group_codes, mean_ci, permute_labels
    from biaskit.eval.stats import percentile_ci

    names = sorted({str(v) for v in labels})
    y = np.array([names.index(str(v)) for v in labels])
    x = features.values
    if y.size != x.shape[0]:
        raise DataError(f"{y.size} labels for {x.shape[0]} texts")
    if len(names) < 2:
        raise DataError(f"the classifier needs at least two classes; every text is {names!r}")
    counts = np.bincount(y, minlength=len(names))
    if counts.min() < 2:
        raise DataError(f"class {names[int(counts.argmin())]!r} has a single text; each class "
                        "needs at least two for cross-validation")
    cl = group_codes(clusters, y.size)
    folds = int(min(config.cv, counts.min()))
    if cl is not None:
        folds = int(min(folds, cl.max() + 1))
        if folds < 2:
            raise DataError("cross-validation by cluster needs at least two clusters")
    pred = _cv_predict(x, y, folds, config, cl)
    correct = (pred == y).astype(float)
    acc, lo, hi = mean_ci(correct, cl, n_boot=config.n_boot, seed=config.seed, level=config.level)
    rng = np.random.default_rng(config.seed)
    perm = np.array([float(np.mean(_cv_predict(x, yp, folds, config, cl) == yp))
                     for yp in (permute_labels(y, cl, rng) for _ in range(config.permutations))])
    p_lo, p_hi = percentile_ci(perm, config.level) if perm.size else (float("nan"),) * 2
    f1_boot = _f1_replicates(y, pred, len(names), config.n_boot, config.seed, cl)
    per_class = []
    for c, name in enumerate(names):
        tp = int(np.sum((y == c) & (pred == c)))
        n_pred, n_true = int(np.sum(pred == c)), int(counts[c])
        f1 = 2 * tp / (n_pred + n_true) if n_pred + n_true else 0.0
        f_lo, f_hi = percentile_ci(f1_boot[:, c], config.level)
        per_class.append({"class": name, "precision": tp / n_pred if n_pred else 0.0,
                          "recall": tp / n_true, "f1": f1, "f1_ci_low": f_lo, "f1_ci_high": f_hi,
                          "support": n_true})
    with np.errstate(invalid="ignore"):
        macro_boot = np.nanmean(f1_boot, axis=1) if f1_boot.size else f1_boot
    m_lo, m_hi = percentile_ci(macro_boot, config.level)
    confusion = [[int(np.sum((y == a) & (pred == b))) for b in range(len(names))]
                 for a in range(len(names))]
    return ClassificationResult(
        classes=tuple(names), n=int(y.size), folds=folds, accuracy=acc, ci_low=lo, ci_high=hi,
        majority=float(counts.max() / y.size),
        permutation_mean=float(perm.mean()) if perm.size else float("nan"),
        permutation_low=p_lo, permutation_high=p_hi,
        p_value=float((1 + np.sum(perm >= acc)) / (1 + perm.size)) if perm.size else float("nan"),
        permutations=int(perm.size),
        macro_f1=float(np.mean([r["f1"] for r in per_class])), macro_f1_ci_low=m_lo,
        macro_f1_ci_high=m_hi, per_class=per_class, confusion=confusion,
        top_features=_top_features(features, y, names, config),
        predictions=[names[int(p)] for p in pred])


def _top_features(features: FeatureTable, y: np.ndarray, names: list[str],
                  config: ClassifierConfig) -> list[dict[str, Any]]:
    """Per class, the features whose standardised coefficient pushes most towards it.

    The model is refit on every text (the cross-validated models differ per fold); its
    coefficients on standardised features are comparable across features.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = features.values
    z = StandardScaler().fit_transform(x)
    model = LogisticRegression(C=config.C, max_iter=config.max_iter).fit(z, y)
    coef = model.coef_
    if coef.shape[0] == 1:  # binary: one vector towards classes[1]
        coef = np.vstack([-coef[0], coef[0]])
    rows = []
    for c, name in enumerate(names):
        order = np.argsort(-coef[c], kind="stable")[:config.top_k]
        inside, outside = x[y == c], x[y != c]
        for rank, j in enumerate(order, start=1):
            rows.append({"class": name, "rank": rank, "feature": features.names[j],
                         "kind": features.kinds[j], "weight": float(coef[c, j]),
                         "mean_in_class": float(inside[:, j].mean()),
                         "mean_elsewhere": float(outside[:, j].mean()) if outside.size else float("nan")})
    return rows


# ----------------------------------------------------------------------- Burrows' Delta


@dataclass(frozen=True)
class DeltaResult:
    """Burrows' Delta between every pair of groups.

    Attributes:
        groups: Group names (sorted).
        words: The most frequent words the distance is computed on.
        matrix: Delta [groups, groups] (0 on the diagonal, symmetric).
        rows: Tidy rows per pair: `group_a`, `group_b`, `delta`, `null_mean`, `null_low`,
            `null_high` (the middle 95% under shuffled groups), `p_value`, `n_a`, `n_b`.
    """

    groups: tuple[str, ...]
    words: tuple[str, ...]
    matrix: np.ndarray
    rows: list[dict[str, Any]]


def delta_matrix(freqs: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Burrows' Delta between groups from per-text relative frequencies [texts, words].

    Each word's frequencies are z-scored over all texts (mean, sample sd); a group's
    profile is the mean z-score of its texts; Delta(A, B) is the mean over words of
    |z_A - z_B|. Words that never vary carry no information and are dropped.
    """
    z = _zscores(freqs)
    n_groups = int(codes.max()) + 1
    centroids = np.vstack([z[codes == g].mean(axis=0) for g in range(n_groups)])
    return np.abs(centroids[:, None, :] - centroids[None, :, :]).mean(axis=2)


def _zscores(freqs: np.ndarray) -> np.ndarray:
    if freqs.shape[0] < 2:
        raise DataError("Burrows' Delta needs at least two texts")
    sd = freqs.std(axis=0, ddof=1)
    keep = sd > 0
    if not keep.any():
        raise DataError("Burrows' Delta: no frequent word varies between texts")
    return (freqs[:, keep] - freqs[:, keep].mean(axis=0)) / sd[keep]


def burrows_delta(texts: Sequence[str], groups: Sequence[Any], *,
                  languages: Sequence[str] | None = None, n_mfw: int = 100,
                  null_repeats: int = 100, seed: int = 0, level: float = 0.95,
                  clusters: Sequence[Any] | None = None) -> DeltaResult:
    """Burrows' Delta between the groups of `texts` on the `n_mfw` most frequent words.

    Small Delta: the groups use frequent words alike. It is never 0 for real texts (a
    mean of absolute differences picks up noise), and it grows when groups are small,
    so it is read against the null: the same texts with the groups shuffled
    `null_repeats` times. A pair whose Delta sits above the null's range differs in its
    habits with frequent words. (No bootstrap CI is given: resampling texts inflates a
    mean of absolute differences, so its percentile interval would not even contain
    the estimate.) With `clusters`, the shuffles respect them (see `classify_texts`).
    """
    from biaskit.analysis.resampling import group_codes, permute_labels
    from biaskit.eval.stats import percentile_ci

    texts = [str(t) for t in texts]
    langs = list(languages) if languages is not None else ["en"] * len(texts)
    names = sorted({str(g) for g in groups})
    codes = np.array([names.index(str(g)) for g in groups])
    if len(names) < 2:
        raise DataError("Burrows' Delta needs at least two groups")
    tokens = [tokenize(t, lang) for t, lang in zip(texts, langs, strict=True)]
    total: dict[str, int] = {}
    for tok in tokens:
        for w in tok:
            total[w] = total.get(w, 0) + 1
    words = [w for w, _ in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))[:n_mfw]]
    index = {w: i for i, w in enumerate(words)}
    freqs = np.zeros((len(texts), len(words)))
    for i, tok in enumerate(tokens):
        for w in tok:
            if w in index:
                freqs[i, index[w]] += 1
        freqs[i] /= max(1, len(tok))
    matrix = delta_matrix(freqs, codes)
    rng = np.random.default_rng(seed)
    cl = group_codes(clusters, len(texts))
    null = np.array([delta_matrix(freqs, permute_labels(codes, cl, rng))
                     for _ in range(null_repeats)])
    rows = []
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            value = float(matrix[a, b])
            draws = null[:, a, b] if null.size else np.zeros(0)
            lo, hi = percentile_ci(draws, level) if draws.size else (float("nan"),) * 2
            rows.append({"group_a": names[a], "group_b": names[b], "delta": value,
                         "null_mean": float(draws.mean()) if draws.size else float("nan"),
                         "null_low": lo, "null_high": hi,
                         "p_value": float((1 + np.sum(draws >= value)) / (1 + draws.size))
                         if draws.size else float("nan"),
                         "n_a": int(np.sum(codes == a)), "n_b": int(np.sum(codes == b))})
    return DeltaResult(groups=tuple(names), words=tuple(words), matrix=matrix, rows=rows)
