"""Causal-trace results: per-prompt grids, indirect effects averaged by token role, plots.

Prompts differ in length, so effects are averaged over prompts by *token role*, as in the
ROME paper: first / middle / last subject token, first token after the subject, further
tokens, and the last token. The indirect effect is oriented so that recovering the clean
behaviour is positive (for a contrast, recovering the gap in whichever direction it had).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from biaskit.errors import DataError
from biaskit.io import atomic_path, write_csv, write_json

ROLES = ("subject_first", "subject_middle", "subject_last", "after_subject", "further", "last")
SITE_TITLES = {"resid": "hidden state (resid)", "mlp_out": "MLP output", "attn_out": "attention output"}


@dataclass(frozen=True)
class PromptTrace:
    """One prompt's trace: restored score per site as a [layers][tokens] grid."""

    prompt: str
    subject: str
    targets: list[str]
    tokens: list[str]
    subject_tokens: list[int]
    content_tokens: list[int]
    clean: float
    corrupted: float
    grids: dict[str, list[list[float]]]
    forward_passes: int = 0
    group: str | None = None  # the subject's identity across phrasings (see `orientations`)

    @property
    def key(self) -> str:
        """What orientation pools prompts by: the group when given, else the subject."""
        return self.group if self.group is not None else self.subject

    def roles(self) -> list[str | None]:
        """Role of each token (None for special tokens such as BOS)."""
        subj = self.subject_tokens
        out: list[str | None] = []
        last = self.content_tokens[-1]
        for t in range(len(self.tokens)):
            if t not in self.content_tokens:
                out.append(None)
            elif t == subj[-1]:
                out.append("subject_last")
            elif t == subj[0]:
                out.append("subject_first")
            elif t in subj:
                out.append("subject_middle")
            elif t == last:
                out.append("last")
            elif t == subj[-1] + 1:
                out.append("after_subject")
            elif t > subj[-1]:
                out.append("further")
            else:
                out.append(None)  # tokens before the subject carry no corrupted signal
        return out

    @property
    def sign(self) -> float:
        """+1 if the clean score is above the corrupted one, else -1 (orientation)."""
        return 1.0 if self.clean >= self.corrupted else -1.0


def orientations(prompts: list[PromptTrace]) -> list[float]:
    """The sign each prompt's effects are multiplied by before averaging, cross-fitted.

    A contrast such as P(she) - P(he) points one way for some subjects and the other way
    for others, so effects are oriented before they are averaged. Orienting a prompt by
    its *own* clean-minus-corrupted sign biases every effect upwards: pure noise, once
    oriented by itself, averages above zero, and a subject with nothing planted looks
    causal (seen on the lab's colour controls: a "significant" 0.009). So a prompt is
    oriented by the other prompts of the same subject, or of the same group when the
    trace was given `groups` (a subject's id across languages and templates): their
    summed clean-minus-corrupted score, which the prompt's own noise does not touch. A
    subject or group with a single prompt falls back to the prompt's own sign.
    """
    by_key: dict[str, float] = {}
    counts: dict[str, int] = {}
    for p in prompts:
        by_key[p.key] = by_key.get(p.key, 0.0) + (p.clean - p.corrupted)
        counts[p.key] = counts.get(p.key, 0) + 1
    signs = []
    for p in prompts:
        if counts[p.key] < 2:
            signs.append(p.sign)
            continue
        others = by_key[p.key] - (p.clean - p.corrupted)
        signs.append(1.0 if others >= 0 else -1.0)
    return signs


def aggregate(prompts: list[PromptTrace], sites: tuple[str, ...]) -> list[dict[str, Any]]:
    """Average indirect effect per (site, layer, role) over prompts, with a 95% t-interval."""
    records = []
    signs = orientations(prompts)
    total_effect = [s * (p.clean - p.corrupted) for s, p in zip(signs, prompts, strict=True)]
    mean_total = sum(total_effect) / len(total_effect)
    for site in sites:
        n_layers = len(prompts[0].grids[site])
        for layer in range(n_layers):
            for role in ROLES:
                values = []
                for sign, p in zip(signs, prompts, strict=True):
                    cols = [t for t, r in enumerate(p.roles()) if r == role]
                    if cols:
                        restored = sum(p.grids[site][layer][t] for t in cols) / len(cols)
                        values.append(sign * (restored - p.corrupted))
                if not values:
                    continue
                mean, low, high = _mean_ci(values)
                records.append({"site": site, "layer": layer, "role": role, "aie": mean,
                                "ci_low": low, "ci_high": high, "n_prompts": len(values),
                                "recovered": mean / mean_total if mean_total else math.nan})
    return records


def _mean_ci(values: list[float]) -> tuple[float, float, float]:
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan
    from scipy import stats

    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class TraceReport:
    """Result of `trace`: per-prompt grids and averaged indirect effects.

    Attributes:
        prompts: One `PromptTrace` per prompt.
        records: Tidy rows (site, layer, role, aie, ci_low, ci_high, n_prompts, recovered).
        sites: Sites traced (`resid`, `mlp_out`, `attn_out`).
        config: The trace settings (noise, samples, window, seed, noise_std).
        model: Model name.
        contrast: True when the score was P(a) - P(b).
    """

    prompts: list[PromptTrace]
    records: list[dict[str, Any]]
    sites: tuple[str, ...]
    config: dict[str, Any] = field(default_factory=dict)
    model: str = ""
    contrast: bool = False

    @property
    def forward_passes(self) -> int:
        """Forward passes used over all prompts."""
        return sum(p.forward_passes for p in self.prompts)

    def effect(self, site: str = "mlp_out", role: str = "subject_last") -> list[float]:
        """Average indirect effect per layer at one site and token role."""
        site = {"mlp": "mlp_out", "attn": "attn_out"}.get(site, site)
        if site not in self.sites:
            raise DataError(f"site {site!r} was not traced; traced: {', '.join(self.sites)}")
        rows = sorted((r for r in self.records if r["site"] == site and r["role"] == role),
                      key=lambda r: r["layer"])
        return [r["aie"] for r in rows]

    def peak(self, site: str = "mlp_out", role: str = "subject_last") -> tuple[int, float]:
        """(layer, effect) of the largest average indirect effect at `site` and `role`."""
        values = self.effect(site, role)
        layer = max(range(len(values)), key=values.__getitem__)
        return layer, values[layer]

    def summary(self) -> dict[str, Any]:
        """Peak layer per site at the subject's last token, and the mean clean/corrupted scores."""
        n = len(self.prompts)
        return {
            "peaks": {s: dict(zip(("layer", "aie"), self.peak(s), strict=True)) for s in self.sites},
            "clean": sum(p.clean for p in self.prompts) / n,
            "corrupted": sum(p.corrupted for p in self.prompts) / n,
            "n_prompts": n, "forward_passes": self.forward_passes,
        }

    def save(self, out_dir: str | Path, *, plots: bool = True, max_prompt_plots: int = 4) -> Path:
        """Write trace.json, trace.csv (averaged), trace_tokens.csv (per prompt) and PNGs."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "trace.json", {
            "model": self.model, "contrast": self.contrast, "sites": list(self.sites),
            "config": self.config, "summary": self.summary(), "records": self.records,
            "prompts": [asdict(p) for p in self.prompts]})
        write_csv(out / "trace.csv", self.records)
        write_csv(out / "trace_tokens.csv", self._token_rows())
        if plots:
            from biaskit.probes.trace_plots import plot_average, plot_prompt

            plot_average(self, out / "trace_average.png")
            for i, p in enumerate(self.prompts[:max_prompt_plots]):
                plot_prompt(p, self.sites, out / f"trace_prompt{i}.png", contrast=self.contrast)
        return out

    def _token_rows(self) -> list[dict[str, Any]]:
        rows = []
        for i, p in enumerate(self.prompts):
            roles = p.roles()
            for site, grid in p.grids.items():
                for layer, row in enumerate(grid):
                    for t, score in enumerate(row):
                        rows.append({"prompt_index": i, "site": site, "layer": layer,
                                     "token_index": t, "token": p.tokens[t], "role": roles[t] or "",
                                     "score": score, "clean": p.clean, "corrupted": p.corrupted})
        return rows

    @classmethod
    def load(cls, out_dir: str | Path) -> TraceReport:
        """Read a saved trace."""
        path = Path(out_dir) / "trace.json"
        if not path.exists():
            raise DataError(f"no trace.json in {out_dir}")
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(prompts=[PromptTrace(**p) for p in data["prompts"]], records=data["records"],
                   sites=tuple(data["sites"]), config=data["config"], model=data["model"],
                   contrast=data["contrast"])


def save_figure(fig: Any, path: Path) -> None:
    """Save a matplotlib figure atomically as PNG and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
