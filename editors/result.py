"""`EditResult`: the weight deltas of an edit, exact undo, saving and re-applying.

An edit is a set of additive deltas on named parameters. Keeping them separate from the
model makes every edit auditable and reversible: `restore()` writes back exact clones of
the original tensors (bit-identical, not "original + delta - delta", which rounds), and
`save()` writes the deltas as safetensors beside a JSON of the requests, the config and
the fingerprint of the weights they were computed for, so `apply_saved` can refuse to put
them on any other model. Applying is transactional: if anything fails half-way, the
weights already changed are put back before the error propagates.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from biaskit.editors.requests import EditRequest
from biaskit.errors import ConfigError, DataError, EditError, ModelError
from biaskit.io import atomic_dir, atomic_path, read_json, write_json
from biaskit.models.model import Model

log = logging.getLogger(__name__)

DELTAS_FILE, EDIT_FILE = "deltas.safetensors", "edit.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class EditResult:
    """An applied edit: what changed, on which model, and how to undo it.

    Attributes:
        model: The edited model (its weights now include the deltas).
        method: Editor name ("rome", "memit", ...).
        deltas: Parameter name (as in `model.hf.named_parameters()`) -> float32 delta,
            same shape as the parameter, on the CPU.
        requests: The requests the edit was computed from.
        config: The method's config (a dataclass; a plain mapping after `apply_saved`).
        layers: Layers the edit touched.
        fingerprint_before: `Model.fingerprint()` of the weights the deltas were made for.
        fingerprint_after: Fingerprint right after applying.
    """

    model: Model
    method: str
    deltas: dict[str, torch.Tensor]
    requests: tuple[EditRequest, ...]
    config: Any
    layers: tuple[int, ...]
    fingerprint_before: str
    fingerprint_after: str
    originals: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    checksums_before: dict[str, str] = field(default_factory=dict, repr=False)

    def restore(self) -> None:
        """Put back the exact original weights of every edited parameter (bit-identical).

        Restoring an older edit after a newer one on the same parameters also undoes the
        newer one there; undo sequential edits newest first.
        """
        current = self.model.fingerprint()
        if current not in (self.fingerprint_after, self.fingerprint_before):
            log.warning("the model changed after this %s edit; restoring its parameters "
                        "undoes the later changes to them too", self.method)
        params = dict(self.model.hf.named_parameters())
        with torch.no_grad():
            for name, original in self.originals.items():
                params[name].copy_(original)

    @contextmanager
    def unedited(self) -> Iterator[Model]:
        """Temporarily put the original weights back (for scoring "before"), then re-edit.

        The edited values are snapshotted and written back exactly on exit, even on error.
        """
        params = dict(self.model.hf.named_parameters())
        edited = {n: params[n].detach().clone() for n in self.originals}
        with torch.no_grad():
            for name, original in self.originals.items():
                params[name].copy_(original)
        try:
            yield self.model
        finally:
            with torch.no_grad():
                for name, value in edited.items():
                    params[name].copy_(value)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write `deltas.safetensors` and `edit.json` into the folder `path`, atomically.

        `edit.json` is written last, so a folder with it is always complete.
        """
        from safetensors.torch import save_file

        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(out / DELTAS_FILE) as tmp:
            save_file({k: v.contiguous() for k, v in self.deltas.items()}, str(tmp),
                      metadata={"fingerprint_before": self.fingerprint_before, "method": self.method})
        write_json(out / EDIT_FILE, {
            "format": FORMAT_VERSION, "method": self.method, "model": self.model.name,
            "model_type": self.model.model_type, "fingerprint_before": self.fingerprint_before,
            "fingerprint_after": self.fingerprint_after, "layers": list(self.layers),
            "parameters": {k: {"shape": list(v.shape), "dtype": _dtype_name(self.model, k)}
                           for k, v in self.deltas.items()},
            "config": _config_dict(self.config),
            "requests": [r.to_dict() for r in self.requests],
        })
        return out


@contextmanager
def guard_weights(model: Model, names: Iterable[str]) -> Iterator[dict[str, torch.Tensor]]:
    """Snapshot parameters `names`; if the block raises, restore them exactly and re-raise.

    Editors wrap every write to weights in this, so that a failure half-way (NaN in an
    optimisation, a shape error, Ctrl-C) never leaves a half-edited model. Yields the
    snapshot (exact clones), which `apply_deltas` keeps for `restore()`.
    """
    params = _params(model, names)
    snapshot = {n: p.detach().clone() for n, p in params.items()}
    try:
        yield snapshot
    except BaseException:
        with torch.no_grad():
            for name, value in snapshot.items():
                params[name].copy_(value)
        log.info("edit failed: %d parameter(s) restored to their original values", len(snapshot))
        raise


def apply_deltas(model: Model, deltas: Mapping[str, torch.Tensor], *, method: str,
                 requests: Sequence[EditRequest] = (), config: Any = None,
                 layers: Sequence[int] = ()) -> EditResult:
    """Add `deltas` to the named parameters: `new = (param.float() + delta).to(param.dtype)`.

    Args:
        model: The model to edit in place.
        deltas: Parameter name -> delta of the parameter's shape (any float dtype/device).
        method: Editor name, recorded in the result and in saved files.
        requests: The requests behind the edit.
        config: The method's config dataclass.
        layers: Layers the edit touches.

    Raises:
        ModelError: A name that is not a parameter of the model.
        EditError: A delta of the wrong shape or with NaN/inf; the model is left untouched.
    """
    if not deltas:
        raise EditError(f"{method}: no deltas to apply")
    params = _params(model, deltas)
    clean: dict[str, torch.Tensor] = {}
    for name, delta in deltas.items():
        if tuple(delta.shape) != tuple(params[name].shape):
            raise EditError(f"delta for {name} has shape {tuple(delta.shape)}, the parameter "
                            f"{tuple(params[name].shape)}")
        delta = delta.detach().to("cpu", torch.float32)
        if not torch.isfinite(delta).all():
            raise EditError(f"{method}: the delta for {name} contains NaN or inf (the "
                            "optimisation diverged; try a smaller learning rate); model left untouched")
        clean[name] = delta
    before = model.fingerprint()
    checksums = param_checksums(model)
    with guard_weights(model, clean) as originals, torch.no_grad():
        for name, delta in clean.items():
            p = params[name]
            p.copy_((p.float() + delta.to(p.device)).to(p.dtype))
        after = model.fingerprint()
    return EditResult(model=model, method=method, deltas=clean, requests=tuple(requests),
                      config=config, layers=tuple(int(x) for x in layers), fingerprint_before=before,
                      fingerprint_after=after, originals=originals, checksums_before=checksums)


def apply_saved(model: Model, path: str | os.PathLike[str]) -> EditResult:
    """Re-apply an edit written by `EditResult.save` to the same (unedited) model.

    `path` is the folder `save` wrote, or the `deltas.safetensors` inside it.

    Raises:
        DataError: `path` is not a saved edit.
        ModelError: The edit was made for other weights (another model, another dtype, or
            this model already edited); nothing is changed.
    """
    from safetensors.torch import load_file

    folder = Path(path)
    if folder.is_file() and folder.suffix == ".safetensors":  # the deltas file itself
        folder = folder.parent
    if not (folder / EDIT_FILE).is_file() or not (folder / DELTAS_FILE).is_file():
        raise DataError(f"{folder} is not a saved edit (needs {EDIT_FILE} and {DELTAS_FILE})")
    meta = read_json(folder / EDIT_FILE)
    if meta.get("format") != FORMAT_VERSION:
        raise DataError(f"{folder / EDIT_FILE}: unknown format {meta.get('format')!r}")
    current = model.fingerprint()
    if current != meta["fingerprint_before"]:
        already = current == meta["fingerprint_after"]
        raise ModelError(
            f"the edit in {folder} is already applied to this model" if already else
            f"the edit in {folder} was made for other weights: {meta['model']!r} "
            f"({meta['model_type']}, fingerprint {meta['fingerprint_before']}), not this model "
            f"{model.name!r} ({model.model_type}, fingerprint {current}); load the model it was "
            "made for, in the same dtype")
    deltas = load_file(str(folder / DELTAS_FILE))
    requests = tuple(EditRequest.from_dict(r) for r in meta.get("requests", []))
    result = apply_deltas(model, deltas, method=meta["method"], requests=requests,
                          config=meta.get("config"), layers=meta.get("layers", []))
    if result.fingerprint_after != meta["fingerprint_after"]:
        log.warning("re-applied edit gives fingerprint %s, saved %s (different device arithmetic?)",
                    result.fingerprint_after, meta["fingerprint_after"])
    return result


def save_edited_model(model: Model, out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Save the (edited) model and its tokenizer with `save_pretrained`, atomically.

    The folder is written beside `out_dir` under a temporary name and renamed into place
    when complete, so transformers or vLLM never load a half-written model.

    Raises:
        ConfigError: `out_dir` exists and is not empty, and `overwrite` is False.
    """
    target = Path(out_dir)
    if target.exists() and any(target.iterdir()) and not overwrite:
        raise ConfigError(f"{target} exists and is not empty; choose another folder or overwrite")
    with atomic_dir(target) as tmp:
        model.hf.save_pretrained(tmp)
        model.tokenizer.save_pretrained(tmp)
    log.info("edited model saved to %s", target)
    return target


@dataclass(frozen=True)
class ParamAudit:
    """What happened to one parameter.

    Attributes:
        name: Parameter name.
        declared: Whether the edit declared a delta for it.
        changed: Whether any bit of it differs from before the edit.
        max_abs_change: Largest absolute change of an element (0 when unchanged).
        relative_change: ||W_now - W_before||_F / ||W_before||_F (declared parameters only).
        rank: Numerical rank of the declared delta (None for undeclared parameters).
        matches_delta: The current value is exactly `(original + delta)` in its dtype
            (False if something else changed it after the edit).
    """

    name: str
    declared: bool
    changed: bool
    max_abs_change: float | None = None
    relative_change: float | None = None
    rank: int | None = None
    matches_delta: bool | None = None


@dataclass(frozen=True)
class WeightAudit:
    """Which parameters an edit changed, against the ones it declared, and delta ranks.

    Attributes:
        params: One row per declared parameter and per undeclared parameter that changed.
        max_rank: The rank each delta should not exceed (None: not checked).
        tol: Relative singular-value tolerance used for the ranks.
    """

    params: tuple[ParamAudit, ...]
    max_rank: int | None
    tol: float | None

    @property
    def undeclared_changes(self) -> tuple[str, ...]:
        """Parameters that changed although the edit did not declare them."""
        return tuple(p.name for p in self.params if p.changed and not p.declared)

    @property
    def problems(self) -> list[str]:
        """Everything that contradicts the declaration, one line each (empty when clean)."""
        out = [f"{n} changed but was not declared" for n in self.undeclared_changes]
        for p in self.params:
            if p.declared and p.matches_delta is False:
                out.append(f"{p.name} is not original + delta any more (changed after the edit)")
            if p.declared and self.max_rank is not None and p.rank is not None and p.rank > self.max_rank:
                out.append(f"{p.name}: delta has rank {p.rank}, expected at most {self.max_rank}")
        return out

    @property
    def ok(self) -> bool:
        """True when only declared parameters changed, as declared, with the expected rank."""
        return not self.problems

    def rows(self) -> list[dict[str, Any]]:
        """Tidy rows, one per audited parameter."""
        return [dataclasses.asdict(p) for p in self.params]


RANK_BOUNDED = ("rome", "memit", "alphaedit")
"""Methods whose delta per matrix has rank at most the number of requests (one key each)."""


def weight_audit(result: EditResult, tol: float | None = None, *,
                 max_rank: int | None = None) -> WeightAudit:
    """Check that only the declared matrices changed, exactly as declared, and delta ranks.

    Args:
        result: The applied edit.
        tol: Singular values below `tol * sigma_max` count as zero in the numerical rank;
            None uses the usual `max(m, n) * eps(float32)`.
        max_rank: Expected upper bound of each delta's rank; by default the number of
            requests for ROME/MEMIT/AlphaEdit (one rank-one term per key), else unchecked.
    """
    now = param_checksums(result.model)
    params = dict(result.model.hf.named_parameters())
    if max_rank is None and result.method in RANK_BOUNDED and result.requests:
        max_rank = len(result.requests)
    rows = []
    for name in sorted(set(now) | set(result.deltas)):
        if name not in result.deltas:
            before = result.checksums_before.get(name)
            if before is not None and before != now[name]:
                rows.append(ParamAudit(name, declared=False, changed=True))
            continue
        current, original = params[name].detach(), result.originals.get(name)
        delta = result.deltas[name]
        row = ParamAudit(name, declared=True, changed=result.checksums_before.get(name) != now[name],
                         rank=_rank(delta, tol))
        if original is not None:
            diff = current.float() - original.float()
            expected = (original.float() + delta.to(original.device)).to(original.dtype)
            row = dataclasses.replace(
                row, max_abs_change=float(diff.abs().max()),
                relative_change=float(diff.norm() / original.float().norm().clamp_min(1e-30)),
                matches_delta=bool(torch.equal(current, expected)))
        rows.append(row)
    return WeightAudit(params=tuple(rows), max_rank=max_rank, tol=tol)


def _rank(delta: torch.Tensor, tol: float | None) -> int:
    matrix = delta.float() if delta.dim() == 2 else delta.float().reshape(1, -1)
    if tol is None:
        return int(torch.linalg.matrix_rank(matrix))
    sv = torch.linalg.svdvals(matrix)
    return int((sv > tol * sv.max()).sum()) if sv.numel() and float(sv.max()) > 0 else 0


def param_checksums(model: Model) -> dict[str, str]:
    """An exact checksum of every parameter's bits (any change of any bit changes it).

    Sampling (as `Model.fingerprint` does) could miss a sparse edit; the weight audit must
    not, so this reads every element, as integers, on the parameter's own device.
    """
    return {name: _checksum(p.detach()) for name, p in model.hf.named_parameters()}


def _checksum(t: torch.Tensor) -> str:
    flat = t.reshape(-1)
    ints = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[flat.element_size()]
    bits = flat.view(ints)
    total, weighted, step = 0, 0, 1 << 22
    for start in range(0, bits.numel(), step):
        chunk = bits[start:start + step].long()
        pos = torch.arange(start, start + chunk.numel(), device=chunk.device) % 65521 + 1
        total = (total + int(chunk.sum())) % (1 << 64)
        weighted = (weighted + int((chunk * pos).sum())) % (1 << 64)
    return f"{flat.numel()}:{total:x}:{weighted:x}"


def _params(model: Model, names: Iterable[str]) -> dict[str, torch.nn.Parameter]:
    params = dict(model.hf.named_parameters())
    out = {}
    for name in names:
        if name not in params:
            close = difflib.get_close_matches(name, list(params), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ModelError(f"{model.name!r} has no parameter {name!r}{hint}")
        out[name] = params[name]
    return out


def _dtype_name(model: Model, name: str) -> str:
    param = dict(model.hf.named_parameters())[name]
    return str(param.dtype).replace("torch.", "")


def _config_dict(config: Any) -> Any:
    if config is None:
        return None
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        from biaskit.configs import to_mapping

        return to_mapping(config)
    if isinstance(config, Mapping):
        return dict(config)
    raise EditError(f"cannot save config of type {type(config).__name__}; use a dataclass or a mapping")
