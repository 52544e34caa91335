"""`probe_layers`: cross-validated linear probes at every layer, with a control task.

For each layer (and site) it reports what a careful reader needs to judge a probing
claim: accuracy and macro-F1 with 95% intervals over folds, the majority-class
baseline, the accuracy of the same probe on a control task (Hewitt & Liang, 2019) and
the selectivity (their difference), optionally the MDL compression (Voita & Titov,
2020), and the probe and difference-of-means directions for later erasure or steering.
See docs/probing.md for how to read them.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from biaskit.errors import ConfigError, DataError
from biaskit.probes import checks
from biaskit.probes.batched import fit_batched
from biaskit.probes.choose_c import INNER_FOLDS, choose, inner_tasks, most_chosen
from biaskit.probes.control import control_labels, encode, make_folds
from biaskit.probes.linear import LinearProbe
from biaskit.probes.mdl import online_codelength
from biaskit.probes.report import BEST_TOLERANCE, ProbeReport, choose_best
from biaskit.probes.stats import macro_f1, majority_accuracy, t_interval
from biaskit.progress import track

logger = logging.getLogger(__name__)


def probe_layers(acts, label: str, *, site: str | Sequence[str] | None = None,
                 layers: int | Sequence[int] | None = None, cv: int = 5, control: bool = True,
                 control_by: str | None = None, groups: str | None = None,
                 C: float | str | Sequence[float] = 1.0,
                 seed: int = 0, backend: str = "torch", mdl: bool = False, permutations: int = 0,
                 max_iter: int = 1000,
                 tol: float = 1e-4, device: str | torch.device | None = None,
                 max_memory_mb: float = 2048.0, progress: bool = True) -> ProbeReport:
    """Probe `label` at each layer and site of `acts` with k-fold cross-validation.

    Args:
        acts: An `ActivationSet` (or anything with `layers`, `sites`, `layer()`,
            `column()`, `meta` and `len()`).
        label: Record column to decode.
        site: A site, several, or None for every captured site.
        layers: A layer, several, or None / "all" for every captured layer.
        cv: Number of folds (stratified by label).
        control: Also fit the control task and report selectivity.
        control_by: Column giving each row's word type (e.g. the subject or group
            term) for the control task; None makes every row its own type.
        groups: Column for group-aware splits: all rows of a group (a name, a
            template) stay in one fold, so a probe cannot win by memorising it.
        C: Inverse L2 strength (scikit-learn's meaning), the same at every layer; or
            "auto" (or a list of values) to choose it per layer and fold by inner
            cross-validation (see `biaskit.probes.choose_c`), which costs one fit per
            candidate and keeps a probe of undecodable labels at the majority baseline.
        seed: Seed of the folds, the control labels and the MDL order.
        backend: "torch" fits all layers and folds in one batched solve (CPU or GPU);
            "sklearn" loops over `LinearProbe`, the slower reference.
        mdl: Also compute the online codelength (always on the torch path).
        permutations: Also fit the probe on this many random permutations of the labels
            (same folds, same C rule) and report, per layer, their mean accuracy (what
            a probe scores when there is nothing to decode) and the permutation p-value
            of the real accuracy, (1 + #{permuted >= real}) / (1 + permutations).
        max_iter: Solver iterations per probe.
        tol: Solver gradient tolerance.
        device: Where the torch path runs: None = where the activations are, "auto" =
            cuda when present, or any torch device.
        max_memory_mb: Memory budget per batch of layers on the torch path.
        progress: Show a progress bar.

    Raises:
        DataError: Empty set, missing or incomplete label column, a single class, a
            class with fewer than `cv` examples, NaN/inf activations, unknown site or
            layer, too few groups or types.
        ConfigError: Impossible settings (cv < 2, C <= 0, unknown backend).
    """
    checks.check_settings(cv, C, backend, max_iter)
    if isinstance(permutations, bool) or not isinstance(permutations, (int, np.integer)) \
            or permutations < 0:
        raise ConfigError(f"permutations must be a whole number >= 0, got {permutations!r}")
    if len(acts) == 0:
        raise DataError("the activation set is empty: nothing to probe")
    classes, y = encode(checks.column(acts, label, "label"))
    checks.check_classes(label, classes, y, cv)
    k = len(classes)
    group_ids = None
    if groups is not None:
        group_ids = encode(checks.column(acts, groups, "groups"))[1]
        checks.check_groups(groups, group_ids, cv)
    types = None
    if control and control_by is not None:
        types = checks.column(acts, control_by, "control_by")
        checks.check_types(control_by, types)
    sites = checks.pick(site, acts.sites, "site")
    layer_list = checks.pick(layers, acts.layers, "layer")
    folds = make_folds(y, cv, seed, group_ids)
    checks.check_folds(folds, y, classes, groups)
    rng = np.random.default_rng(seed)
    y_ctrl = control_labels(y, k, types, rng) if control else None

    perm_rng = np.random.default_rng([seed, 1])  # independent of the control task's draws
    y_perms = [perm_rng.permutation(y) for _ in range(permutations)]
    label_sets = [y] + ([y_ctrl] if y_ctrl is not None else []) + y_perms
    # real folds, control folds, permuted folds, then one fit on all rows
    Y = np.stack([ys for ys in label_sets for _ in folds] + [y])
    M = np.zeros(Y.shape, dtype=bool)
    for t in range(len(Y) - 1):
        M[t, folds[t % cv][0]] = True
    M[-1] = True
    baseline = float(np.mean([majority_accuracy(y[tr], y[te], k) for tr, te in folds]))

    grid = checks.c_grid(C)
    n_outer = len(Y) - 1
    inner = inner_tasks(label_sets, folds, y, group_ids, seed) if grid else None
    if inner is not None:  # inner tasks go before the all-rows task, which stays last
        Y_fit = np.concatenate([Y[:-1], inner.labels, Y[-1:]])
        M_fit = np.concatenate([M[:-1], inner.train, M[-1:]])
    else:
        Y_fit, M_fit = Y, M

    jobs = [(s, chunk) for s in sites for chunk in _chunks(acts, layer_list, s, len(Y_fit), k,
                                                           max_memory_mb)]
    records: list[dict[str, Any]] = []
    directions: dict[tuple[str, int], torch.Tensor] = {}
    means: dict[tuple[str, int], torch.Tensor] = {}
    for s, chunk in track(jobs, f"probing {label}", enabled=progress and len(jobs) > 1):
        X = _load(acts, chunk, s, device)
        fit_args = (X, Y_fit, M_fit, backend, k, max_iter, tol)
        if grid is None:
            pred, dirs = _fit(*fit_args, C)
            chosen = [float(C)] * len(chunk)
        else:
            pred, dirs, chosen = _fit_choosing_c(fit_args, grid, inner, n_outer,
                                                 len(label_sets), cv)
        mean_dirs = _mean_directions(X, y, k).cpu()
        mdl_c = Counter(chosen).most_common(1)[0][0]
        mdl_res = online_codelength(X, y, k, C=mdl_c, seed=seed, max_iter=max_iter, tol=tol,
                                    center=False) if mdl else None
        for i, layer in enumerate(chunk):
            rec = _score(s, layer, pred[:, i], y, y_ctrl, folds, k, baseline, y_perms)
            rec["C"] = chosen[i]
            if mdl_res is not None:
                rec |= {"mdl_codelength": float(mdl_res.codelength[i]),
                        "mdl_uniform": float(mdl_res.uniform),
                        "mdl_compression": float(mdl_res.compression[i])}
            records.append(rec)
            directions[(s, layer)] = dirs[i].float().contiguous()
            means[(s, layer)] = mean_dirs[i].float().contiguous()

    best_site, best_layer = choose_best(records)
    config = {
        "cv": cv, "C": C if grid is None else "auto", "C_grid": list(grid) if grid else None,
        "inner_folds": INNER_FOLDS if grid else None, "seed": seed, "backend": backend, "control": control,
        "control_by": control_by, "groups": groups, "mdl": mdl, "permutations": permutations,
        "max_iter": max_iter, "tol": tol,
        "model": acts.meta.get("model"), "positions": acts.meta.get("positions"), "n": len(y),
        "ci": "mean +- t(k-1, 0.975) * sd / sqrt(k) over folds",
        "best_rule": (f"highest accuracy among layers with selectivity >= max - {BEST_TOLERANCE}"
                      if control else "highest accuracy (no control task)"),
    }
    logger.info("probe %r: best layer %d (%s), accuracy %.3f", label, best_layer, best_site,
                next(r["accuracy"] for r in records if r["layer"] == best_layer and r["site"] == best_site))
    return ProbeReport(records=records, best_layer=best_layer, best_site=best_site, label=label,
                       classes=list(classes), directions=directions, mean_directions=means,
                       config=config)


def _fit(X: torch.Tensor, Y: np.ndarray, M: np.ndarray, backend: str, k: int, max_iter: int,
         tol: float, C: float) -> tuple[np.ndarray, torch.Tensor]:
    """Predictions [tasks, layers, n] of every task and the last task's directions."""
    if backend == "torch":
        fit = fit_batched(X, torch.as_tensor(Y, device=X.device), torch.as_tensor(M, device=X.device),
                          n_classes=k, C=C, max_iter=max_iter, tol=tol, center=False)
        return fit.predict(X).cpu().numpy(), fit.directions()[-1].cpu()
    return _fit_sklearn(X.cpu().numpy(), Y, M, C, max_iter, tol)


def _fit_choosing_c(fit_args: tuple, grid: tuple[float, ...], inner, n_outer: int, n_sets: int,
                    cv: int) -> tuple[np.ndarray, torch.Tensor, list[float]]:
    """Fit every candidate C; keep, per outer task and layer, the one its inner CV chose.

    The all-rows task (directions, `C` in the records) uses the C chosen in most
    real-label folds at that layer.
    """
    fits = [_fit(*fit_args, c) for c in grid]
    preds = [pred for pred, _ in fits]
    pick = choose([pred[n_outer:-1] for pred in preds], inner, n_sets, cv)
    final = most_chosen(pick[0])
    layers, n = preds[0].shape[1], preds[0].shape[2]
    pred = np.empty((n_outer + 1, layers, n), dtype=preds[0].dtype)
    for t in range(n_outer):
        label_set, fold = divmod(t, cv)
        for i in range(layers):
            pred[t, i] = preds[pick[label_set, fold, i]][t, i]
    for i in range(layers):
        pred[-1, i] = preds[final[i]][-1, i]
    dirs = torch.stack([fits[final[i]][1][i] for i in range(layers)])
    return pred, dirs, [grid[g] for g in final]


def _chunks(acts, layers: list[int], site: str, tasks: int, k: int,
            max_memory_mb: float) -> list[list[int]]:
    """Split layers into batches whose features and solver state fit the memory budget."""
    n = len(acts)
    try:
        d = int(acts.width(site))
    except (AttributeError, KeyError, TypeError):  # no widths in meta: read one layer
        d = int(acts.layer(layers[0], site).shape[-1])
    kk = 1 if k == 2 else k
    per_layer = 4 * (2 * n * d + 30 * tasks * (d * kk + kk) + 4 * tasks * n * kk)
    size = max(1, int(max_memory_mb * 2**20 // per_layer))
    return [layers[i:i + size] for i in range(0, len(layers), size)]


def _load(acts, layers: list[int], site: str, device: str | torch.device | None) -> torch.Tensor:
    """Features [layers, n, d] in float32, checked finite, centred per feature.

    Centring (over all rows) changes no fitted probe (the intercept absorbs it) but
    keeps float32 precise when a feature has a large common offset.
    """
    X = torch.stack([acts.layer(layer, site) for layer in layers])
    if device is not None:
        auto = "cuda" if torch.cuda.is_available() else "cpu"
        X = X.to(auto if device == "auto" else device)
    X = X.to(torch.float32)  # `stack` made a copy, so centring in place is safe
    checks.check_finite(X, layers, site)
    return X.sub_(X.mean(1, keepdim=True))


def _fit_sklearn(X: np.ndarray, Y: np.ndarray, M: np.ndarray, C: float, max_iter: int,
                 tol: float) -> tuple[np.ndarray, torch.Tensor]:
    """Reference path: one `LinearProbe` per (task, layer). Same outputs as the torch path."""
    pred = np.zeros((len(Y), X.shape[0], X.shape[1]), dtype=np.int64)
    dirs = []
    for i in range(X.shape[0]):
        for t in range(len(Y)):
            train = M[t]
            present = np.unique(Y[t, train])
            if len(present) < 2:  # a control fold can hold one class: predict it
                pred[t, i] = present[0]
                continue
            probe = LinearProbe(C=C, max_iter=max_iter, tol=tol).fit(X[i, train], Y[t, train])
            pred[t, i] = probe.predict(X[i])
            if t == len(Y) - 1:
                dirs.append(torch.as_tensor(probe.direction_, dtype=torch.float32))
    return pred, torch.stack(dirs)


def _mean_directions(X: torch.Tensor, y: np.ndarray, k: int) -> torch.Tensor:
    """Unit difference-of-class-means directions [layers, r, d] (r = 1 for two classes)."""
    onehot = torch.nn.functional.one_hot(torch.as_tensor(y, device=X.device), k).to(X.dtype)
    sums = torch.einsum("nc,lnd->lcd", onehot, X)
    counts = onehot.sum(0)[None, :, None]
    class_means = sums / counts
    if k == 2:
        diff = (class_means[:, 1] - class_means[:, 0]).unsqueeze(1)
    else:
        rest = (sums.sum(1, keepdim=True) - sums) / (len(y) - counts)
        diff = class_means - rest
    return diff / diff.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(X.dtype).tiny)


def _score(site: str, layer: int, pred: np.ndarray, y: np.ndarray, y_ctrl: np.ndarray | None,
           folds: list[tuple[np.ndarray, np.ndarray]], k: int, baseline: float,
           y_perms: list[np.ndarray]) -> dict[str, Any]:
    """One tidy record from the predictions [tasks, n] of every task at one layer."""
    acc = [float(np.mean(pred[f][te] == y[te])) for f, (_, te) in enumerate(folds)]
    f1 = [macro_f1(y[te], pred[f][te], k) for f, (_, te) in enumerate(folds)]
    a, a_lo, a_hi = _clipped(t_interval(acc), 0.0)
    f, f_lo, f_hi = _clipped(t_interval(f1), 0.0)
    rec: dict[str, Any] = {"site": site, "layer": int(layer), "accuracy": a, "ci_low": a_lo,
                           "ci_high": a_hi, "f1": f, "f1_ci_low": f_lo, "f1_ci_high": f_hi,
                           "baseline": baseline}
    ctrl_fields = dict.fromkeys(("control_accuracy", "control_ci_low", "control_ci_high", "selectivity",
                          "selectivity_ci_low", "selectivity_ci_high"))
    if y_ctrl is not None:
        cv = len(folds)
        ctrl = [float(np.mean(pred[cv + f][te] == y_ctrl[te])) for f, (_, te) in enumerate(folds)]
        c, c_lo, c_hi = _clipped(t_interval(ctrl), 0.0)
        s, s_lo, s_hi = _clipped(t_interval([p - q for p, q in zip(acc, ctrl, strict=True)]), -1.0)
        ctrl_fields = {"control_accuracy": c, "control_ci_low": c_lo, "control_ci_high": c_hi,
                "selectivity": s, "selectivity_ci_low": s_lo, "selectivity_ci_high": s_hi}
    rec |= ctrl_fields
    rec |= {"n": len(y), "n_classes": k, "folds": len(folds)}
    if y_perms:
        cv = len(folds)
        start = cv * (2 if y_ctrl is not None else 1)
        perm_acc = [float(np.mean([np.mean(pred[start + j * cv + f][te] == yp[te])
                                   for f, (_, te) in enumerate(folds)]))
                    for j, yp in enumerate(y_perms)]
        rec |= {"permutation_accuracy": float(np.mean(perm_acc)),
                "permutation_p": (1 + sum(p >= a - 1e-12 for p in perm_acc)) / (1 + len(perm_acc))}
    return {key: (None if isinstance(v, float) and math.isnan(v) else v) for key, v in rec.items()}


def _clipped(interval: tuple[float, float, float], low: float) -> tuple[float, float, float]:
    """Clip a t interval to the range the score can take ([low, 1]).

    With near-perfect folds the symmetric t interval pokes above 1, which no accuracy
    can reach; clipping changes only how the band is drawn, not the mean.
    """
    mean, lo, hi = interval
    return mean, max(lo, low), min(hi, 1.0)
