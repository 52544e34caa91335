"""Batched torch probes vs a loop of scikit-learn LogisticRegression, all layers, 5-fold CV.

Goal (issue 3): the batched path >= 5x faster at equal accuracy (max difference across
layers <= 0.01). Data: a synthetic 12-layer, 768-wide activation set of 5,000 rows with a
binary label planted along one direction whose strength grows with depth, on top of
anisotropic noise with a few large-offset "massive" dimensions (as in real residual
streams). Both sides get the same folds, the same C, standardisation fitted on the
training fold, and run in this one process. The last line is the speed-up ratio.

`--control` times the workload `probe_layers` really runs (the folds, the same folds on
control labels, and one fit on all rows: 11 probes per layer). `--threads N` pins torch
and BLAS to N threads on both sides: on a shared machine, idle-waiting OpenMP/BLAS
threads make default-thread timings swing by 5x from run to run, and pinning to one
thread gives the stable, memory-bandwidth-bound comparison.

`--auto-c` times `probe_layers(C="auto")` (C chosen from 5 values by 3-fold inner CV in
each training fold, all layers batched) against scikit-learn's own nested CV on the same
folds: `GridSearchCV(StandardScaler + LogisticRegression, same grid, 3 inner folds)`
refitted per outer fold and layer, on the very inner splits biaskit uses. Same last-line ratio.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from _common import machine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from biaskit.probes.batched import fit_batched


def synthetic(n: int, layers: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features [layers, n, d] float32 and labels [n]; signal strength rises with depth."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    direction = rng.normal(size=d)
    direction /= np.linalg.norm(direction)
    scales = rng.lognormal(0.0, 0.5, size=d)
    offsets = np.zeros(d)
    offsets[:4] = 50.0  # massive-activation dimensions
    X = np.empty((layers, n, d), dtype=np.float32)
    for layer in range(layers):
        strength = 0.15 * layer
        X[layer] = rng.normal(size=(n, d)) * scales + offsets + np.outer(2 * y - 1, direction) * strength
    return X, y


def tasks(y: np.ndarray, folds, control: bool) -> tuple[np.ndarray, np.ndarray]:
    """Label sets [tasks, n] and training masks [tasks, n]: the folds, then (with
    `control`) the same folds on permuted labels and one fit on all rows, as
    `probe_layers` does."""
    labels = [y] * len(folds)
    masks = []
    for train, _ in folds:
        m = np.zeros(len(y), dtype=bool)
        m[train] = True
        masks.append(m)
    if control:
        permuted = np.random.default_rng(1).permutation(y)
        labels += [permuted] * len(folds) + [y]
        masks += masks + [np.ones(len(y), dtype=bool)]
    return np.stack(labels), np.stack(masks)


def run_sklearn(X: np.ndarray, Y: np.ndarray, M: np.ndarray, folds, C: float,
                max_iter: int) -> np.ndarray:
    """CV accuracy per layer: one StandardScaler + LogisticRegression per (layer, task)."""
    acc = np.zeros(X.shape[0])
    for layer in range(X.shape[0]):
        for t in range(len(Y)):
            scaler = StandardScaler().fit(X[layer, M[t]])
            model = LogisticRegression(C=C, max_iter=max_iter)
            model.fit(scaler.transform(X[layer, M[t]]), Y[t, M[t]])
            if t < len(folds):
                test = folds[t][1]
                acc[layer] += model.score(scaler.transform(X[layer, test]), Y[t, test]) / len(folds)
    return acc


def run_torch(X: np.ndarray, Y: np.ndarray, M: np.ndarray, folds, C: float,
              max_iter: int) -> np.ndarray:
    """CV accuracy per layer: every (layer, task) probe in one `fit_batched` call."""
    Xt = torch.from_numpy(X)
    fit = fit_batched(Xt, torch.from_numpy(Y), torch.from_numpy(M), n_classes=2, C=C,
                      max_iter=max_iter)
    pred = fit.predict(Xt).numpy()  # [tasks, layers, n]
    acc = np.zeros(X.shape[0])
    for f, (_, test) in enumerate(folds):
        acc += (pred[f][:, test] == Y[f, test]).mean(1) / len(folds)
    return acc


def run_auto_c(X: np.ndarray, y: np.ndarray, folds, max_iter: int) -> None:
    """Nested CV, biaskit batched vs scikit-learn GridSearchCV; prints the ratio last."""
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    from biaskit.activation_set import ActivationSet
    from biaskit.probes import probe_layers
    from biaskit.probes.checks import AUTO_C_GRID
    from biaskit.probes.choose_c import INNER_FOLDS
    from biaskit.probes.control import make_folds

    layers, n, d = X.shape
    acts = ActivationSet(layers=tuple(range(layers)), sites=("resid",),
                         records=[{"y": int(v)} for v in y],
                         meta={"model": "synthetic", "positions": "last", "widths": {"resid": d}},
                         data={"resid": torch.from_numpy(X.transpose(1, 0, 2).copy())})
    t0 = time.perf_counter()
    report = probe_layers(acts, "y", cv=len(folds), control=False, C="auto", max_iter=max_iter,
                          progress=False)
    t_torch = time.perf_counter() - t0
    acc_torch = np.array([r["accuracy"] for r in report.records])
    acc_sk = np.zeros(layers)
    t0 = time.perf_counter()
    for layer in range(layers):
        for f, (train, test) in enumerate(folds):
            inner = make_folds(y[train], INNER_FOLDS, 1 + f)  # the inner splits biaskit uses
            search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter)),
                                  {"logisticregression__C": list(AUTO_C_GRID)}, cv=inner)
            search.fit(X[layer, train], y[train])
            acc_sk[layer] += search.score(X[layer, test], y[test]) / len(folds)
    t_sk = time.perf_counter() - t0
    fits = layers * len(folds) * (len(AUTO_C_GRID) * INNER_FOLDS + 1)
    print("layer  sklearn  torch   (C='auto', nested CV)")
    for layer in range(layers):
        print(f"{layer:5d}  {acc_sk[layer]:.4f}   {acc_torch[layer]:.4f}")
    print(f"sklearn GridSearchCV ({fits} fits): {t_sk:.2f}s")
    print(f"torch batched (probe_layers C='auto'): {t_torch:.2f}s")
    print(f"max accuracy difference across layers: {np.abs(acc_sk - acc_torch).max():.4f}")
    print(f"speed-up (sklearn / torch): {t_sk / t_torch:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--d", type=int, default=768)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--max-iter", type=int, default=1000)
    parser.add_argument("--control", action="store_true",
                        help="probe_layers' workload: add a control task and the full-data fit")
    parser.add_argument("--auto-c", action="store_true",
                        help="time C='auto' (nested CV) against scikit-learn's GridSearchCV")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both sides (torch and BLAS); default: library defaults")
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    print(f"machine: {machine()}")
    X, y = synthetic(args.n, args.layers, args.d)
    folds = list(StratifiedKFold(args.cv, shuffle=True, random_state=0).split(X[0], y))
    if args.auto_c:
        print(f"data: {args.layers} layers x {args.n} rows x {args.d} dims, {args.cv}-fold CV")
        run_auto_c(X, y, folds, args.max_iter)
        return
    Y, M = tasks(y, folds, args.control)
    print(f"data: {args.layers} layers x {args.n} rows x {args.d} dims, {args.cv}-fold CV, C={args.C}, "
          f"{len(Y)} probes per layer{' (folds + control folds + full fit)' if args.control else ''}")

    warm = X[:1, :200]
    run_torch(warm, *tasks(y[:200], list(StratifiedKFold(2).split(warm[0], y[:200])), False),
              list(StratifiedKFold(2).split(warm[0], y[:200])), args.C, 50)
    t0 = time.perf_counter()
    acc_torch = run_torch(X, Y, M, folds, args.C, args.max_iter)
    t_torch = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        acc_sk = run_sklearn(X, Y, M, folds, args.C, args.max_iter)
        t_sk = time.perf_counter() - t0

    print("layer  sklearn  torch")
    for layer in range(args.layers):
        print(f"{layer:5d}  {acc_sk[layer]:.4f}   {acc_torch[layer]:.4f}")
    print(f"sklearn loop ({args.layers * len(Y)} fits): {t_sk:.2f}s")
    print(f"torch batched (1 fit of {args.layers * len(Y)} probes): {t_torch:.2f}s")
    print(f"max accuracy difference across layers: {np.abs(acc_sk - acc_torch).max():.4f}")
    print(f"speed-up (sklearn / torch): {t_sk / t_torch:.1f}x")


if __name__ == "__main__":
    main()
