"""Causal tracing (Meng et al. 2022, "Locating and Editing Factual Associations in GPT").

For each prompt: run it clean and record every layer's hidden states; run it again with
Gaussian noise added to the subject tokens' input embeddings (noise = `noise` x the
standard deviation of the embedding matrix); then, for each (layer, token, site), rerun
the corrupted input with that one state put back to its clean value and record how much
of the target's probability comes back. The *indirect effect* of a state is the restored
score minus the corrupted score. For MLP and attention sites a window of `window`
consecutive layers around the layer is restored, as in the paper, because one layer's
MLP alone moves the output too little to see.

The score is P(target) for a single target, or P(a) - P(b) for a contrast (a bias:
P(she) - P(he)), so the trace shows where the gap is produced. Multi-token targets use
their full continuation probability.

Batching: all layers and noise samples for one (token, site) run in one forward pass
(rows = layers x samples), and such groups are packed up to `max_batch` rows, so a
prompt costs at most tokens x sites passes, not layers x tokens x sites x samples. Tokens
before the subject are not run at all: causal attention keeps them clean.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from biaskit.batching import pad_ids
from biaskit.errors import DataError
from biaskit.models.model import Model
from biaskit.positions import encode, subject_token_span
from biaskit.probes.trace_report import PromptTrace, TraceReport, aggregate
from biaskit.progress import track
from biaskit.scoring import continuation_ids

SITE_ALIASES = {"resid": "resid", "mlp": "mlp_out", "mlp_out": "mlp_out",
                "attn": "attn_out", "attn_out": "attn_out"}


@dataclass(frozen=True)
class TraceConfig:
    """Settings of a causal trace.

    Attributes:
        sites: Which sites to restore: `resid`, `mlp` (= `mlp_out`), `attn` (= `attn_out`).
        noise: Noise scale, in multiples of the embedding standard deviation (3 in ROME).
        samples: Noise samples averaged per restoration.
        window: Layers restored together for mlp/attn. None picks depth // 5 (at least 1,
            at most 10): ROME used 10 on 28- and 48-layer models; on a 4-layer model a
            window of 10 would restore every layer at once and locate nothing.
        seed: Seed of the noise.
        max_batch: Upper bound on rows per forward pass (memory).
    """

    sites: tuple[str, ...] = ("resid", "mlp", "attn")
    noise: float = 3.0
    samples: int = 10
    window: int | None = None
    seed: int = 0
    max_batch: int = 512


def trace(model: Model, prompts: Sequence[str], *, subject: str | Sequence[str],
          target: str | Sequence[str] | None = None,
          contrast: Sequence[str] | Sequence[Sequence[str]] | None = None,
          config: TraceConfig | None = None, groups: Sequence[str] | None = None,
          progress: bool = True, **overrides: Any) -> TraceReport:
    """Trace where the model computes `target` (or the `contrast` gap) from the subject.

    Args:
        model: A causal LM.
        prompts: Prompts ending where the target would follow.
        subject: The subject string in each prompt (one for all, or one per prompt).
        target: The continuation whose probability is traced (one, or one per prompt).
        contrast: A pair `[a, b]` (or one pair per prompt): the traced score is P(a) - P(b).
        config: Trace settings.
        groups: One identity per prompt (e.g. the subject id shared by "pilot",
            "piloto" and "pilote"): each prompt's effects are oriented by the other
            prompts of its group, not by itself, so noise does not pass for an effect
            (see `trace_report.orientations`). Default: the subject string.
        progress: Show a progress bar.
        **overrides: Fields of `TraceConfig` to replace (e.g. `samples=5`).

    Returns:
        A `TraceReport` with per-prompt grids and indirect effects averaged over prompts.
    """
    cfg = _config(config, overrides)
    if not model.adapter.causal:
        raise DataError(f"causal tracing needs a causal LM; {model.model_type} is not one")
    prompts = list(prompts)
    if not prompts:
        raise DataError("no prompts to trace")
    subjects = _per_prompt(subject, len(prompts), "subject")
    if groups is not None and len(groups) != len(prompts):
        raise DataError(f"groups has {len(groups)} entries for {len(prompts)} prompts")
    candidates = _candidates(target, contrast, len(prompts))
    sites = tuple(dict.fromkeys(SITE_ALIASES.get(s, "") or _bad_site(s) for s in cfg.sites))
    if cfg.window is None:  # resolved once here; see TraceConfig.window
        cfg = TraceConfig(**(cfg.__dict__ | {"window": max(1, min(10, model.n_layers // 5))}))
    emb = model.hf.get_input_embeddings()
    noise_std = cfg.noise * float(emb.weight.detach().float().std())
    gen = torch.Generator().manual_seed(cfg.seed)
    results = []
    for i in track(range(len(prompts)), "tracing", enabled=progress):
        one = _trace_prompt(model, prompts[i], subjects[i], candidates[i], sites, cfg,
                            noise_std, gen, i)
        results.append(one if groups is None else dataclasses.replace(one, group=str(groups[i])))
    return TraceReport(prompts=results, records=aggregate(results, sites), sites=sites,
                       config=cfg.__dict__ | {"noise_std": noise_std},
                       model=model.name,
                       contrast=len(candidates[0]) == 2)


def _trace_prompt(model: Model, prompt: str, subject: str, cands: tuple[str, ...],
                  sites: tuple[str, ...], cfg: TraceConfig, noise_std: float,
                  gen: torch.Generator, index: int) -> PromptTrace:
    tok = model.tokenizer
    enc = encode(tok, [prompt], need_offsets=True)[0]
    subj = subject_token_span(enc, prompt, subject, index)
    seqs = [continuation_ids(tok, prompt, c) for c in cands]
    prompt_ids = seqs[0][0]
    if prompt_ids != enc.ids:
        raise DataError(f"prompt {index} tokenises differently with its target; end it before the target")
    n_layers, n_tok, window = model.n_layers, len(prompt_ids), cfg.window
    noise = torch.randn(cfg.samples, len(subj), model.hidden_size, generator=gen) * noise_std
    runner = _Runner(model, seqs, subj, noise)
    clean_score, clean_states = runner.clean(sites)
    corrupted_score = float(runner.run([None] * cfg.samples, clean_states).mean())
    # Tokens before the subject never see the noise (causal attention): restoring them
    # gives exactly the corrupted score, so they are filled in rather than run.
    grids = {s: torch.full((n_layers, n_tok), corrupted_score) for s in sites}
    groups = [(s, t) for s in sites for t in range(subj[0], n_tok)]
    per_group = n_layers * cfg.samples
    per_batch = max(1, cfg.max_batch // per_group)
    for start in range(0, len(groups), per_batch):
        chunk = groups[start:start + per_batch]
        plans = []
        for site, t in chunk:
            for layer in range(n_layers):
                restored = _window(layer, n_layers, 1 if site == "resid" else window)
                plans.extend([(site, tuple(restored), t)] * cfg.samples)
        scores = runner.run(plans, clean_states).view(len(chunk), n_layers, cfg.samples).mean(-1)
        for (site, t), row in zip(chunk, scores, strict=True):
            grids[site][:, t] = row
    return PromptTrace(prompt=prompt, subject=subject, targets=list(cands),
                       tokens=tok.convert_ids_to_tokens(prompt_ids), subject_tokens=subj,
                       content_tokens=list(enc.content), clean=clean_score,
                       corrupted=corrupted_score, grids={s: g.tolist() for s, g in grids.items()},
                       forward_passes=runner.passes)


def _window(layer: int, n_layers: int, window: int) -> range:
    """Layers restored for `layer`: `window` consecutive layers centred on it, clipped."""
    lo = max(0, layer - window // 2)
    return range(lo, min(n_layers, lo + window) if window > 1 else layer + 1)


class _Runner:
    """Runs the prompt (with each candidate continuation) clean, corrupted or patched."""

    def __init__(self, model: Model, seqs: list[tuple[list[int], list[int]]],
                 subject: list[int], noise: torch.Tensor) -> None:
        self.model, self.seqs, self.subject, self.noise = model, seqs, subject, noise
        self.passes = 0
        self.ids, self.mask, _ = pad_ids([p + c for p, c in seqs], model.tokenizer.pad_token_id)

    def _forward(self, rows: int, hooks: list[Any]) -> torch.Tensor:
        """Forward `rows` copies of every candidate sequence; return each row's score.

        Only the positions that predict the candidates reach the LM head
        (`logits_to_keep`): with a large vocabulary the head would otherwise dominate.
        """
        dev = self.model.device
        n_c = len(self.seqs)
        ids = self.ids.repeat(rows, 1).to(dev)
        mask = self.mask.repeat(rows, 1).to(dev)
        width, first = ids.shape[1], len(self.seqs[0][0]) - 1
        try:
            logits = self.model.hf(input_ids=ids, attention_mask=mask, use_cache=False,
                                   logits_to_keep=width - first).logits
        finally:
            for h in hooks:
                h.remove()
        self.passes += 1
        logp = torch.log_softmax(logits.float(), -1).view(rows, n_c, *logits.shape[1:]).cpu()
        probs = []
        for j, (p, c) in enumerate(self.seqs):
            pos = torch.arange(len(p) - 1, len(p) + len(c) - 1) - first
            probs.append(logp[:, j, pos, torch.tensor(c)].sum(-1).exp())
        return probs[0] - probs[1] if n_c == 2 else probs[0]

    def clean(self, sites: tuple[str, ...]) -> tuple[float, dict[tuple[str, int], torch.Tensor]]:
        """Score the clean prompt and record each site's states at every layer, [tokens, d]."""
        states: dict[tuple[str, int], torch.Tensor] = {}
        hooks = []
        n_prompt = len(self.seqs[0][0])
        for site in sites:
            for layer in range(self.model.n_layers):
                module, _ = self.model.site_module(site, layer)

                def record(_m, _i, out, key=(site, layer)):
                    h = out[0] if isinstance(out, (tuple, list)) else out
                    states[key] = h[0, :n_prompt].detach().clone()
                hooks.append(module.register_forward_hook(record))
        with torch.no_grad():
            score = float(self._forward(1, hooks)[0])
        return score, states

    def run(self, plans: list[Any], clean: dict[tuple[str, int], torch.Tensor]) -> torch.Tensor:
        """Corrupted runs, one per plan; a plan `(site, layers, token)` restores that state."""
        n_c, rows = len(self.seqs), len(plans)
        samples = self.noise.shape[0]
        emb = self.model.hf.get_input_embeddings()
        noise = self.noise.repeat((rows + samples - 1) // samples, 1, 1)[:rows]
        noise = noise.repeat_interleave(n_c, 0).to(self.model.device)
        subj = torch.tensor(self.subject)

        def corrupt(_m, _i, out):
            out = out.clone()
            out[:, subj] += noise.to(out.dtype)
            return out
        hooks = [emb.register_forward_hook(corrupt)]
        patches: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
        for r, plan in enumerate(plans):
            if plan is None:
                continue
            site, layers, t = plan
            for layer in layers:
                rows_, toks = patches.setdefault((site, layer), ([], []))
                rows_.extend(range(r * n_c, (r + 1) * n_c))
                toks.extend([t] * n_c)
        for (site, layer), (rows_, toks) in patches.items():
            module, _ = self.model.site_module(site, layer)
            r_idx, t_idx = torch.tensor(rows_), torch.tensor(toks)
            value = clean[(site, layer)][t_idx]

            def patch(_m, _i, out, r_idx=r_idx, t_idx=t_idx, value=value):
                h = out[0] if isinstance(out, (tuple, list)) else out
                h[r_idx.to(h.device), t_idx.to(h.device)] = value.to(h.device, h.dtype)
            hooks.append(module.register_forward_hook(patch))
        with torch.no_grad():
            return self._forward(rows, hooks)


def _config(config: TraceConfig | None, overrides: dict[str, Any]) -> TraceConfig:
    base = config or TraceConfig()
    unknown = set(overrides) - set(base.__dict__)
    if unknown:
        raise DataError(f"unknown trace setting(s): {', '.join(sorted(unknown))}")
    cfg = TraceConfig(**(base.__dict__ | overrides))
    if cfg.samples < 1 or (cfg.window is not None and cfg.window < 1) or cfg.noise <= 0:
        raise DataError("trace needs samples >= 1, window >= 1 and noise > 0")
    if isinstance(cfg.sites, str):
        cfg = TraceConfig(**(cfg.__dict__ | {"sites": (cfg.sites,)}))
    return cfg


def _bad_site(site: str) -> str:
    raise DataError(f"unknown trace site {site!r}; use resid, mlp or attn")


def _per_prompt(value: str | Sequence[str], n: int, what: str) -> list[str]:
    if isinstance(value, str):
        return [value] * n
    values = list(value)
    if len(values) != n:
        raise DataError(f"{len(values)} {what}s for {n} prompts")
    return values


def _candidates(target: Any, contrast: Any, n: int) -> list[tuple[str, ...]]:
    if (target is None) == (contrast is None):
        raise DataError("give exactly one of target or contrast")
    if target is not None:
        return [(t,) for t in _per_prompt(target, n, "target")]
    pairs = contrast
    if len(pairs) == 2 and all(isinstance(x, str) for x in pairs):
        pairs = [tuple(pairs)] * n
    pairs = [tuple(p) for p in pairs]
    if len(pairs) != n or any(len(p) != 2 for p in pairs):
        raise DataError("contrast must be a pair [a, b] or one pair per prompt")
    return pairs
