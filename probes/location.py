"""`locate`: from probe and trace evidence to the layer(s) to edit, with the reason in words.

The rules, in order (documented in docs/locate.md):

1. **Causal evidence ranks.** With a trace, each layer's causal score is the average
   indirect effect of its MLP output at the subject's last token (the site ROME/MEMIT
   edit), normalised by the largest one. A layer is *bias-carrying* only if that effect's
   95% CI lies above 0 (the effect is distinguishable from noise).
2. **Probes refine.** With a probe report, each layer's probe score is its selectivity
   (accuracy minus control accuracy, floored at 0), normalised by the largest one.
3. **Combined score** = `trace_weight` x causal + (1 - `trace_weight`) x probe when both
   are given (default 0.75: decodable is not the same as used), else whichever exists.
4. The chosen layer is the best-scoring one; the layer range (for MEMIT) is the window of
   `span` consecutive layers with the largest total causal score (probe score without a
   trace) that contains it. `span` defaults to a quarter of the depth (at least 1).
5. A user-given `layer` or `layers` overrides the choice; the evidence is still reported.
6. *Bias-carrying* needs two things: the traced score must itself depend on the subject
   (the mean total effect, clean minus corrupted, oriented per prompt, is at least
   `min_total_effect`, 0.05 by default), and the layer's effect CI must lie above 0.
   The first guard matters because effects are oriented per prompt (a contrast can point
   either way): where nothing is planted, that orientation turns pure noise into small
   positive "effects" whose CI can exclude 0.

Without a trace, `bias_carrying` is None: a probe alone cannot show that the model uses
what it decodes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from biaskit.errors import DataError
from biaskit.io import read_json, write_csv, write_json


@dataclass(frozen=True)
class Location:
    """Where to edit, and why.

    Attributes:
        layer: The chosen layer.
        layers: The chosen layer range (for MEMIT-style multi-layer edits).
        ranking: One dict per layer, best first: `layer`, `score`, and the evidence
            (`trace_effect`, `trace_ci_low`, `trace_ci_high`, `probe_selectivity`,
            `probe_accuracy`) where available.
        reason: The choice in words.
        bias_carrying: True if the causal effect at `layer` is above noise, False if it is
            not, None when that cannot be told (no trace, or a single traced prompt).
        site: The site the causal score was read at.
        rule: Which evidence was combined and how.
    """

    layer: int
    layers: list[int]
    ranking: list[dict[str, Any]]
    reason: str
    bias_carrying: bool | None
    site: str = "mlp_out"
    rule: str = ""
    notes: list[str] = field(default_factory=list)

    def save(self, out_dir: str | Path) -> Path:
        """Write location.json and location.csv (the ranking, tidy)."""
        out = Path(out_dir)
        write_json(out / "location.json", asdict(self))
        write_csv(out / "location.csv", self.ranking)
        return out

    @classmethod
    def load(cls, path: str | Path) -> Location:
        """Read a location.json (or a directory holding one)."""
        p = Path(path)
        p = p / "location.json" if p.is_dir() else p
        if not p.exists():
            raise DataError(f"no location file at {path}")
        return cls(**read_json(p))


def locate(probe: Any = None, trace: Any = None, *, site: str = "mlp_out",
           role: str = "subject_last", trace_weight: float = 0.75, span: int | None = None,
           layer: int | None = None, layers: list[int] | None = None,
           min_total_effect: float = 0.05) -> Location:
    """Combine a `ProbeReport` and/or a `TraceReport` into a `Location`.

    Args:
        probe: A probe report (selectivity per layer), or None.
        trace: A trace report (indirect effects per layer), or None.
        site: Traced site that ranks layers (`mlp_out`: what ROME/MEMIT edit).
        role: Token role whose effect counts (`subject_last`).
        trace_weight: Weight of causal evidence when both reports are given.
        span: Number of layers in the range; default max(1, n_layers // 4).
        layer: Force this layer (the evidence is still reported).
        layers: Force this layer range.
        min_total_effect: Smallest mean total effect (clean minus corrupted score) for the
            traced association to count as present at all.
    """
    if probe is None and trace is None:
        raise DataError("locate needs a probe report, a trace report, or both")
    if not 0.0 <= trace_weight <= 1.0:
        raise DataError("trace_weight must be between 0 and 1")
    evidence = _evidence(probe, trace, site, role)
    n_layers = max(evidence) + 1
    causal = _normalised({k: v.get("trace_effect") for k, v in evidence.items()})
    # Without a control task a probe report has no selectivity: fall back on accuracy.
    probing = _normalised({k: _probe_score(v) for k, v in evidence.items()})
    w = trace_weight if (trace is not None and probe is not None) else (1.0 if trace else 0.0)
    for k, row in evidence.items():
        row["score"] = w * causal.get(k, 0.0) + (1 - w) * probing.get(k, 0.0)
    ranking = sorted(evidence.values(), key=lambda r: (-r["score"], r["layer"]))
    chosen = ranking[0]["layer"] if layer is None else _check(layer, n_layers)
    span = max(1, n_layers // 4) if span is None else span
    window_scores = causal if trace is not None else probing
    chosen_layers = (sorted(_check(x, n_layers) for x in layers) if layers is not None
                     else _best_window(window_scores, chosen, span, n_layers))
    row = evidence[chosen]
    carrying = None
    low = row.get("trace_ci_low")
    total = _total_effect(trace)
    if trace is not None and low is not None and low == low:  # NaN with a single prompt
        carrying = bool(low > 0) and (total is None or total >= min_total_effect)
    reason, notes = _explain(chosen, row, carrying, probe, trace, layer is not None or layers is not None)
    if trace is not None and role == "subject_last":
        elsewhere = _elsewhere(trace, site)
        if elsewhere:
            notes.append(elsewhere)
    if total is not None and total < min_total_effect:
        notes.insert(0, f"Corrupting the subject changes the traced score by only {total:.3g} on "
                        f"average (below {min_total_effect}): the prediction hardly depends on the "
                        "subject, so there is no association here to locate.")
    rule = f"causal x {w:.2f} + probe selectivity x {1 - w:.2f}" if probe and trace else (
        "causal effect only" if trace else "probe selectivity only")
    return Location(layer=chosen, layers=chosen_layers, ranking=ranking, reason=reason,
                    bias_carrying=carrying, site=site, rule=rule, notes=notes)


def _evidence(probe: Any, trace: Any, site: str, role: str) -> dict[int, dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    if trace is not None:
        recs = [r for r in trace.records if r["site"] == site and r["role"] == role]
        if not recs:
            raise DataError(f"the trace has no {site} effects at the {role} token")
        for r in recs:
            rows.setdefault(r["layer"], {"layer": r["layer"]}).update(
                trace_effect=r["aie"], trace_ci_low=r["ci_low"], trace_ci_high=r["ci_high"])
    if probe is not None:
        recs = [r for r in probe.records if r.get("site", "resid") == _probe_site(probe)]
        for r in recs:
            rows.setdefault(r["layer"], {"layer": r["layer"]}).update(
                probe_selectivity=r["selectivity"], probe_accuracy=r["accuracy"])
            if r.get("permutation_p") is not None:
                rows[r["layer"]]["probe_p"] = r["permutation_p"]
    return rows


EARLIER_ROLES = {"subject_first": "first", "subject_middle": "middle"}


def _elsewhere(trace: Any, site: str) -> str | None:
    """A note when the effect sits at other subject tokens than the last one.

    ROME, MEMIT and AlphaEdit read their key at the subject's last token. When a model
    looks the association up at an earlier piece of the subject (one that already
    identifies it), an edit at the last token can change little of it; the user should
    know that before editing. Said when an earlier token's effect is above noise (CI
    above 0) and at least twice the last token's at the same layer.
    """
    rows = [r for r in trace.records if r["site"] == site]
    last = {r["layer"]: r["aie"] for r in rows if r["role"] == "subject_last"}
    earlier = [r for r in rows if r["role"] in EARLIER_ROLES and r["ci_low"] > 0
               and r["aie"] >= 2 * max(last.get(r["layer"], 0.0), 0.0)]
    if not earlier:
        return None
    r = max(earlier, key=lambda x: x["aie"])
    last_aie = last.get(r["layer"], 0.0)
    name = {"mlp_out": "MLP", "attn_out": "attention", "resid": "residual"}.get(site, site)
    return (f"The {name} effect sits at the subject's "
            f"{EARLIER_ROLES[r['role']]} token(s), not its last one: layer {r['layer']} "
            f"{r['aie']:.3g} (95% CI {r['ci_low']:.3g} to {r['ci_high']:.3g}) against {last_aie:.3g} "
            f"at the last token. ROME, MEMIT and AlphaEdit read their key at the subject's last "
            f"token, so an edit there can change little of this association.")


def _total_effect(trace: Any) -> float | None:
    """Mean over prompts of the oriented clean-minus-corrupted score, if prompts are known."""
    prompts = getattr(trace, "prompts", None)
    if not prompts:
        return None
    from biaskit.probes.trace_report import orientations

    signs = orientations(list(prompts))
    return sum(s * (p.clean - p.corrupted) for s, p in zip(signs, prompts, strict=True)) / len(prompts)


def _probe_score(row: dict[str, Any]) -> float | None:
    if row.get("probe_selectivity") is not None:
        return max(0.0, row["probe_selectivity"])
    return row.get("probe_accuracy")


def _probe_site(probe: Any) -> str:
    return getattr(probe, "best_site", None) or probe.records[0].get("site", "resid")


def _normalised(values: dict[int, float | None]) -> dict[int, float]:
    present = {k: v for k, v in values.items() if v is not None}
    top = max(present.values(), default=0.0)
    return {k: (max(v, 0.0) / top if top > 0 else 0.0) for k, v in present.items()}


def _best_window(scores: dict[int, float], chosen: int, span: int, n_layers: int) -> list[int]:
    span = min(span, n_layers)
    starts = [s for s in range(0, n_layers - span + 1) if s <= chosen < s + span]
    best = max(starts, key=lambda s: (sum(scores.get(k, 0.0) for k in range(s, s + span)), -abs(
        s + (span - 1) / 2 - chosen)))
    return list(range(best, best + span))


def _check(layer: int, n_layers: int) -> int:
    from biaskit.errors import LayerError

    if not 0 <= layer < n_layers:
        raise LayerError(f"layer {layer} is out of range: the evidence covers layers 0-{n_layers - 1}")
    return layer


def _explain(layer: int, row: dict[str, Any], carrying: bool | None, probe: Any, trace: Any,
             forced: bool) -> tuple[str, list[str]]:
    parts = []
    shuffled = f" (p = {row['probe_p']:.2g} against shuffled labels)" if "probe_p" in row else ""
    if row.get("probe_selectivity") is not None:
        parts.append(f"probe accuracy {row['probe_accuracy']:.2f}{shuffled}, selectivity "
                     f"{row['probe_selectivity']:.2f}")
    elif "probe_accuracy" in row:
        parts.append(f"probe accuracy {row['probe_accuracy']:.2f}{shuffled} (no control task)")
    if "trace_effect" in row:
        ci = (f" (95% CI {row['trace_ci_low']:.3g} to {row['trace_ci_high']:.3g})"
              if row["trace_ci_low"] == row["trace_ci_low"] else "")
        parts.append(f"MLP indirect effect {row['trace_effect']:.3g}{ci} at the subject's last token")
    head = f"layer {layer}{' (chosen by the user)' if forced else ''}: " + "; ".join(parts)
    notes = []
    if carrying is True:
        notes.append("The causal effect is above noise: this layer carries the association.")
    elif carrying is False:
        notes.append("The causal effect is within noise (its 95% CI includes 0): whatever a probe "
                     "decodes here, the model does not use this layer to produce the traced "
                     "prediction, so it is not reported as bias-carrying.")
    elif trace is not None:
        notes.append("The causal effect has no confidence interval (one prompt): trace several "
                     "prompts before calling this layer bias-carrying.")
    else:
        notes.append("Only a probe was given: a probe that decodes a feature does not show that the "
                     "model uses it. Run a causal trace before editing.")
    return head, notes
