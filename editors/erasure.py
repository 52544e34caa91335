"""Concept erasure with LEACE (Belrose et al. 2023), folded into the MLP output weights.

**LEACE** ("LEAst-squares Concept Erasure", Belrose, Schneider-Joseph, Ravfogel,
Cotterell, Raff and Biderman, NeurIPS 2023). Given activations X [n, d] and labels Z
(one-hot over k classes), with mean mu, covariance S_xx and cross-covariance S_xz,

    W = (S_xx^{1/2})^+                 (whitening; pseudo-inverse of the square root)
    P = orthogonal projection onto colspace(W S_xz)
    r(x) = x - W^+ P W (x - mu)  =  x - Q (x - mu),   Q = W^+ P W.

r makes every class-conditional mean equal to mu, i.e. Cov(r(X), Z) = 0, which is exactly
"no linear classifier beats a constant predictor" (linear guardedness, the paper's
Theorem 3.1); among all affine maps with that property it moves X the least in mean
squared distance, for every norm of the form ||v||_M with M positive semi-definite
(Theorem 4.3). Q is an oblique projection of rank at most k - 1 (1 for two classes).

**Folding** (as DAMA does with its projections). Fitting r on the output of the MLP's
output projection y = W_out h + b at a layer, the edited projection

    W_out' = (I - Q) W_out,        b' = (I - Q) b + Q mu

outputs exactly r(y) for every token, so the edited model needs no hooks. Models whose
projection has no bias (Llama, Mistral, Qwen, the lab) cannot carry the constant Q mu:
there the fold is y' = (I - Q) y, which differs from r(y) by the same vector Q mu for
every input. The class-conditional means are then still all equal (to (I - Q) mu), so
guardedness holds unchanged; only the mean squared change is no longer the minimum.

Why fold into `mlp_out` and not the residual stream: the residual is a sum that no single
matrix produces, while every vector the MLP writes passes through W_out. Erasing at the
MLP output removes what that layer writes about the concept; earlier layers' writes stay
in the residual stream (erase at several layers, or earlier, to reach them).

Everything is computed in float64 from float32 activations; eigenvalues of S_xx below
`tol * max eigenvalue` count as zero (rank-deficient covariances: fewer rows than
dimensions, dead units, exactly dependent features).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from biaskit.editors.result import EditResult, apply_deltas
from biaskit.errors import ConfigError, DataError, EditError
from biaskit.io import atomic_path, write_json
from biaskit.models.model import Model

log = logging.getLogger(__name__)

METHOD = "erasure"
SITE = "mlp_out"
ERASURE_FILE, ERASERS_FILE = "erasure.json", "erasers.safetensors"
#: Eigenvalues of the covariance below this fraction of the largest one count as zero.
DEFAULT_TOL = 1e-8
#: Singular values of W S_xz below this fraction of the largest one count as zero.
RANK_TOL = 1e-8


@dataclass(frozen=True, eq=False)
class LeaceEraser:
    """A fitted LEACE eraser r(x) = x - Q (x - mean).

    Attributes:
        proj: Q [d, d], float64: the oblique projection W^+ P W (rank `rank`).
        mean: mu [d], float64: the mean of the fitting data.
        rank: Rank of Q (at most the number of classes minus one).
        classes: The class values, in the order of the one-hot columns.
        n: Number of rows it was fitted on.
    """

    proj: torch.Tensor
    mean: torch.Tensor
    rank: int
    classes: tuple[Any, ...] = ()
    n: int = 0

    @property
    def dim(self) -> int:
        """Width d of the vectors it erases."""
        return int(self.mean.shape[0])

    @property
    def offset(self) -> torch.Tensor:
        """Q mu: the constant part of the eraser (what a bias-free fold must drop)."""
        return self.proj @ self.mean

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Erase the concept from `x` [..., d]; same dtype and device as `x`.

        The product is computed in float64 for float64 input and in float32 otherwise
        (fp16/bf16 activations are upcast, then cast back).
        """
        if x.shape[-1] != self.dim:
            raise DataError(f"eraser fitted on width {self.dim}, got vectors of width {x.shape[-1]}")
        work = torch.float64 if x.dtype == torch.float64 else torch.float32
        q = self.proj.to(x.device, work)
        mu = self.mean.to(x.device, work)
        xw = x.to(work)
        return (xw - (xw - mu) @ q.T).to(x.dtype)


def fit_leace(X: Any, z: Any, *, tol: float = DEFAULT_TOL, shrinkage: float = 0.0) -> LeaceEraser:
    """Fit the LEACE eraser of labels `z` from activations `X`.

    Args:
        X: Activations [n, d] (tensor or array; any float dtype).
        z: Labels: [n] class values of any hashable type (one-hot encoded, classes
            sorted), or a float matrix [n, k] used as Z directly (one-hot or soft labels).
        tol: Eigenvalues of the covariance below `tol` times the largest are treated as
            zero (directions with no variance cannot carry the concept).
        shrinkage: Add `shrinkage * mean eigenvalue` to the covariance's diagonal before
            whitening. Guardedness is exact for any value (Q S_xz = S_xz holds for every
            invertible whitening), only least-squares optimality is given up: 0 is exact
            LEACE, large values tend to the orthogonal projection of the class-mean
            differences. A little (0.01-0.1) keeps ||Q|| small when the eraser will act on
            vectors unlike those it was fitted on (fewer rows than dimensions, or an eraser
            fitted on last tokens folded into weights that act on every token).

    Raises:
        DataError: Fewer than two rows or classes, mismatched lengths, NaN/inf.
    """
    if not 0.0 <= tol < 1.0:
        raise ConfigError(f"tol must be in [0, 1), got {tol}")
    if shrinkage < 0:
        raise ConfigError(f"shrinkage must be >= 0, got {shrinkage}")
    x = _as_float64(X)
    if x.dim() != 2:
        raise DataError(f"activations must be [n, d], got shape {tuple(x.shape)}")
    Z, classes = _one_hot(z, x.shape[0])
    n = x.shape[0]
    if n < 2:
        raise DataError("LEACE needs at least two rows")
    if not torch.isfinite(x).all():
        raise DataError("activations contain NaN or inf")
    mean = x.mean(0)
    xc = x - mean
    zc = Z - Z.mean(0)
    sigma_xx = xc.T @ xc / n
    sigma_xz = xc.T @ zc / n
    d = x.shape[1]
    if shrinkage > 0:
        ridge = shrinkage * float(torch.trace(sigma_xx)) / d
        sigma_xx = sigma_xx + ridge * torch.eye(d, dtype=torch.float64)
    eigval, eigvec = torch.linalg.eigh((sigma_xx + sigma_xx.T) / 2)
    top = float(eigval.max()) if eigval.numel() else 0.0
    keep = eigval > tol * top if top > 0 else torch.zeros_like(eigval, dtype=torch.bool)
    if not bool(keep.any()):
        log.warning("LEACE: the activations have no variance; the eraser is the identity")
        return LeaceEraser(torch.zeros(d, d, dtype=torch.float64), mean, 0, classes, n)
    v, lam = eigvec[:, keep], eigval[keep]
    whiten = (v * lam.rsqrt()) @ v.T          # W = (S_xx^{1/2})^+
    unwhiten = (v * lam.sqrt()) @ v.T         # W^+ = S_xx^{1/2} on the kept subspace
    u, s, _ = torch.linalg.svd(whiten @ sigma_xz, full_matrices=False)
    rank = int((s > RANK_TOL * s.max()).sum()) if s.numel() and float(s.max()) > 0 else 0
    basis = u[:, :rank]
    proj = unwhiten @ basis @ basis.T @ whiten  # Q = W^+ P W
    return LeaceEraser(proj=proj, mean=mean, rank=rank, classes=classes, n=n)


def class_mean_gap(X: Any, z: Sequence[Any]) -> float:
    """The largest ||E[x | class] - E[x]||_2 over classes: 0 exactly when X is linearly guarded."""
    x = _as_float64(X)
    labels = np.asarray(list(z), dtype=object)
    mean = x.mean(0)
    gaps = [float((x[torch.as_tensor(labels == c)].mean(0) - mean).norm())
            for c in _sorted_unique(labels)]
    return max(gaps) if gaps else 0.0


# -- folding into the weights ------------------------------------------------------------

def fold_deltas(model: Model, layer: int, eraser: LeaceEraser) -> dict[str, torch.Tensor]:
    """Deltas that make the MLP output projection at `layer` output `eraser(y)`.

    W_out' = (I - Q) W_out and, when the projection has a bias, b' = (I - Q) b + Q mu.
    Without a bias the constant Q mu is dropped (see the module docstring). Returns
    {parameter name: float32 delta in the parameter's own layout}.

    Raises:
        EditError: The eraser's width is not the projection's output width.
    """
    module = model.rewrite_module(layer)
    path = model.adapter.rewrite_path(model.hf, model.layer_index(layer))
    w = module.weight.detach().to("cpu", torch.float64)
    w_lin = w.T if model.adapter.conv1d else w               # [d_out, d_in], y = W h + b
    if w_lin.shape[0] != eraser.dim:
        raise EditError(f"eraser of width {eraser.dim} cannot fold into {path} "
                        f"(output width {w_lin.shape[0]})")
    q = eraser.proj
    delta_w = -(q @ w_lin)                                    # W' - W = -Q W
    deltas = {f"{path}.weight": (delta_w.T if model.adapter.conv1d else delta_w).contiguous()}
    bias = getattr(module, "bias", None)
    if bias is not None:
        b = bias.detach().to("cpu", torch.float64)
        deltas[f"{path}.bias"] = q @ (eraser.mean - b)        # b' - b = Q (mu - b)
    return {k: v.float() for k, v in deltas.items()}


def has_bias(model: Model, layer: int) -> bool:
    """Whether the MLP output projection at `layer` has a bias (the fold is then exact)."""
    return getattr(model.rewrite_module(layer), "bias", None) is not None


# -- the editor -------------------------------------------------------------------------

@dataclass(frozen=True)
class ErasureConfig:
    """Settings of an erasure (saved with the edit).

    Attributes:
        layers: Layers whose MLP output is erased (fitted lowest first, each on the
            activations of the model with the lower layers already erased).
        positions: Token positions whose `mlp_out` vectors the eraser is fitted on: `all`
            (every token, the default: the fold acts on every token), `last`, `mean`,
            `first`, `subject_last` or an index. The fold applies to every token anyway.
        tol: Eigenvalue threshold of the covariance (fraction of the largest).
        shrinkage: Ridge added to the covariance, as a fraction of its mean eigenvalue
            (see `fit_leace`); 0 is exact LEACE.
        label: Name of the erased attribute (for reports).
        classes: Its class values.
    """

    layers: tuple[int, ...] = ()
    positions: str | int = "all"
    tol: float = DEFAULT_TOL
    shrinkage: float = 0.0
    label: str = ""
    classes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class ErasureResult(EditResult):
    """An applied erasure: an `EditResult` (restore, save, unedited) plus what was fitted.

    Attributes:
        erasers: Layer -> the fitted `LeaceEraser`.
        checks: One row per layer: `rank`, `n_rows`, `mean_gap_before` and
            `mean_gap_after` (max class-mean distance at the erased site, measured by
            capturing again after folding: ~0 means the fold worked, no oracle needed),
            `relative_gap` (after / before), `bias_folded` (False: the constant was dropped),
            `dropped_offset_norm` (||Q mu|| left out without a bias).
    """

    erasers: dict[int, LeaceEraser] = field(default_factory=dict, repr=False)
    checks: tuple[dict[str, Any], ...] = ()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the deltas and edit.json (as every edit), plus erasure.json and the erasers.

        `edit.json` is still written last, so its presence marks a complete folder.
        """
        from safetensors.torch import save_file

        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {}
        for layer, e in self.erasers.items():
            tensors[f"{layer}/proj"] = e.proj.float().contiguous()
            tensors[f"{layer}/mean"] = e.mean.float().contiguous()
        if tensors:
            with atomic_path(out / ERASERS_FILE) as tmp:
                save_file(tensors, str(tmp), metadata={"method": METHOD})
        write_json(out / ERASURE_FILE, {"checks": list(self.checks),
                                        "ranks": {str(k): e.rank for k, e in self.erasers.items()}})
        return super().save(out)


def erase(model: Model, texts: Sequence[str], labels: Sequence[Any], *,
          layers: int | Sequence[int] | str, positions: str | int = "all",
          subject: str | Sequence[str] | None = None, label: str = "", tol: float = DEFAULT_TOL,
          shrinkage: float = 0.0, batch_size: int = 32, check: bool = True,
          progress: bool = False) -> ErasureResult:
    """Fit LEACE on `mlp_out` at each layer and fold it into that layer's MLP output weights.

    Layers are processed lowest first; each eraser is fitted on the activations of the
    model with the lower layers already erased, so the final model is guarded at every
    erased layer. Nothing is changed if anything fails (the edit is applied at the end,
    transactionally, through `apply_deltas`).

    Args:
        model: The model to edit in place.
        texts: Texts whose activations are erased.
        labels: One class value per text (the attribute to erase, e.g. gender).
        layers: A layer, a list, or a string such as "2-3" (e.g. the located layers).
        positions: Token positions the eraser is fitted on (see `ErasureConfig`).
        subject: Subject(s) for `positions="subject_last"`.
        label: Name of the attribute, recorded in the result.
        tol: Eigenvalue threshold (see `fit_leace`).
        shrinkage: Covariance ridge (see `fit_leace`); 0 is exact LEACE.
        batch_size: Texts per forward pass.
        check: Capture again after folding and record the class-mean gaps (`checks`).
        progress: Show progress bars.

    Raises:
        DataError: Mismatched texts and labels, a single class.
        LayerError: A layer out of range.
    """
    from biaskit.activations import capture

    texts = list(texts)
    labels = list(labels)
    if len(texts) != len(labels):
        raise DataError(f"{len(labels)} labels for {len(texts)} texts")
    if len(set(map(str, labels))) < 2:
        raise DataError("erasure needs at least two classes in the labels")
    layer_ids = model.resolve_layers(layers)
    records = [{"_erase_label": y} for y in labels]

    def acts(at: list[int]):
        return capture(model, texts, layers=at, sites=(SITE,), positions=positions,
                       subject=subject, records=records, batch_size=batch_size,
                       dtype=torch.float32, progress=progress)

    erasers: dict[int, LeaceEraser] = {}
    deltas: dict[str, torch.Tensor] = {}
    before: dict[int, float] = {}
    n_rows: dict[int, int] = {}
    params = dict(model.hf.named_parameters())
    originals: dict[str, torch.Tensor] = {}
    try:
        for layer in layer_ids:
            a = acts([layer])
            X, z = a.layer(layer, SITE), a.column("_erase_label")
            erasers[layer] = eraser = fit_leace(X, z, tol=tol, shrinkage=shrinkage)
            before[layer], n_rows[layer] = class_mean_gap(X, z), len(z)
            layer_deltas = fold_deltas(model, layer, eraser)
            deltas.update(layer_deltas)
            if layer != layer_ids[-1]:  # later layers are fitted on the erased model
                for name, delta in layer_deltas.items():
                    p = params[name]
                    originals[name] = p.detach().clone()
                    with torch.no_grad():
                        p.copy_((p.float() + delta.to(p.device)).to(p.dtype))
    finally:
        with torch.no_grad():
            for name, value in originals.items():
                params[name].copy_(value)
    classes = tuple(str(c) for c in _sorted_unique(np.asarray(labels, dtype=object)))
    config = ErasureConfig(layers=tuple(layer_ids), positions=positions, tol=tol,
                           shrinkage=shrinkage, label=label,
                           classes=classes)
    result = apply_deltas(model, deltas, method=METHOD, config=config, layers=layer_ids)
    after: dict[int, float | None] = dict.fromkeys(layer_ids)
    if check:
        a = acts(layer_ids)
        z = a.column("_erase_label")
        after = {layer: class_mean_gap(a.layer(layer, SITE), z) for layer in layer_ids}
    rows = []
    for layer in layer_ids:
        e, bias = erasers[layer], has_bias(model, layer)
        gap = after[layer]
        rows.append({"layer": layer, "rank": e.rank, "n_rows": n_rows[layer],
                     "mean_gap_before": before[layer], "mean_gap_after": gap,
                     "relative_gap": None if gap is None else gap / max(before[layer], 1e-30),
                     "bias_folded": bias,
                     "dropped_offset_norm": 0.0 if bias else float(e.offset.norm())})
        log.info("erasure at layer %d: rank %d, class-mean gap %.3g -> %s", layer, e.rank,
                 before[layer], "not checked" if gap is None else f"{gap:.3g}")
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(EditResult)}
    return ErasureResult(**fields, erasers=erasers, checks=tuple(rows))


def apply_erasers(model: Model, erasers: Mapping[int, LeaceEraser], *,
                  config: Any = None) -> EditResult:
    """Fold already fitted erasers (e.g. from your own activations) into the weights.

    Each eraser must have been fitted on the `mlp_out` activations of its layer *of this
    model with the lower erasers already applied* for the guarantee to hold at every
    layer; `erase` does that for you.
    """
    if not erasers:
        raise EditError("erasure: no erasers to apply")
    deltas: dict[str, torch.Tensor] = {}
    layers = sorted(model.layer_index(int(k)) for k in erasers)
    for layer, eraser in sorted(erasers.items()):
        deltas.update(fold_deltas(model, int(layer), eraser))
    return apply_deltas(model, deltas, method=METHOD, config=config, layers=layers)


# -- helpers ------------------------------------------------------------------------------

def _as_float64(X: Any) -> torch.Tensor:
    if isinstance(X, torch.Tensor):
        return X.detach().to("cpu", torch.float64)
    return torch.as_tensor(np.asarray(X, dtype=np.float64))


def _sorted_unique(labels: np.ndarray) -> list[Any]:
    try:
        return sorted(set(labels.tolist()))
    except TypeError:  # mixed types: order by their text
        return sorted(set(labels.tolist()), key=str)


def _one_hot(z: Any, n: int) -> tuple[torch.Tensor, tuple[Any, ...]]:
    """Z [n, k] float64 and the classes (empty for a given matrix)."""
    if isinstance(z, torch.Tensor) and z.dim() == 2 and z.is_floating_point():
        Z = z.detach().to("cpu", torch.float64)
        classes: tuple[Any, ...] = ()
    elif isinstance(z, np.ndarray) and z.ndim == 2 and np.issubdtype(z.dtype, np.floating):
        Z, classes = torch.as_tensor(z, dtype=torch.float64), ()
    else:
        values = z.tolist() if isinstance(z, (torch.Tensor, np.ndarray)) else list(z)
        labels = np.empty(len(values), dtype=object)
        labels[:] = values
        uniq = _sorted_unique(labels)
        index = {c: i for i, c in enumerate(uniq)}
        Z = torch.zeros(len(values), len(uniq), dtype=torch.float64)
        Z[torch.arange(len(values)), torch.tensor([index[v] for v in values], dtype=torch.long)] = 1.0
        classes = tuple(uniq)
        if len(uniq) < 2:
            raise DataError(f"LEACE needs at least two classes; got {len(uniq)}")
    if Z.shape[0] != n:
        raise DataError(f"{Z.shape[0]} labels for {n} rows")
    return Z, classes
