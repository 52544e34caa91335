"""Attention to a group term: checked against a hand recomputation, then the report and CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from biaskit.analysis.attention import (
    attention_items,
    attention_report,
    compare_attention,
    eager_attention,
    term_attention,
)
from biaskit.analysis.attention_stats import bh_qvalues, cell_summary, paired_summary
from biaskit.errors import DataError, SubjectNotFoundError
from biaskit.models.tiny import tiny_model

ROWS = [  # different lengths, so batches carry right padding
    {"text": "The nurse said that", "subject": "nurse"},
    {"text": "Yesterday my old friend the pilot explained that", "subject": "pilot"},
    {"text": "A {{teacher}} walked in and [[she]] sat down", "subject": "unused"},
    {"text": "Every engineer knows", "subject": "engineer", "targets": ["she", "he"]},
]


def _items(tok):
    return attention_items(tok, ROWS[:3]) + attention_items(tok, ROWS[3:], append="targets")


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def manual_attention(model, ids: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
    """softmax(QK^T / sqrt(d) + mask) per layer, recomputed by hand for a llama model.

    Q and K come from the layer's own projections of its input (captured with a hook);
    RoPE, grouped key heads, the causal and padding masks and the softmax are written out
    here independently of transformers' attention code.
    """
    cfg = model.config
    n_heads, n_kv, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    theta = cfg.rope_parameters["rope_theta"]
    inputs: dict[int, torch.Tensor] = {}
    blocks = model.hf.model.layers
    def keep(i):
        def hook(_module, args, kwargs):
            inputs[i] = kwargs["hidden_states"] if "hidden_states" in kwargs else args[0]
        return hook

    hooks = [blk.self_attn.register_forward_pre_hook(keep(i), with_kwargs=True)
             for i, blk in enumerate(blocks)]
    with torch.no_grad():
        model.hf(input_ids=ids, attention_mask=mask)
    for h in hooks:
        h.remove()
    B, T = ids.shape
    pos = torch.arange(T, dtype=torch.float64)
    inv = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    ang = torch.cat([pos[:, None] * inv[None], pos[:, None] * inv[None]], dim=-1)
    cos, sin = ang.cos(), ang.sin()
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))[None] & mask.bool()[:, None, :]
    out = []
    for i, blk in enumerate(blocks):
        h = inputs[i].detach().double()
        q = (h @ blk.self_attn.q_proj.weight.detach().double().T).view(B, T, n_heads, d).transpose(1, 2)
        k = (h @ blk.self_attn.k_proj.weight.detach().double().T).view(B, T, n_kv, d).transpose(1, 2)
        q = q * cos + _rotate_half(q) * sin
        k = k * cos + _rotate_half(k) * sin
        k = k.repeat_interleave(n_heads // n_kv, dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(d)
        scores = scores.masked_fill(~allowed[:, None], float("-inf"))
        out.append(torch.softmax(scores, dim=-1))
    return out


def test_weights_match_manual_softmax_with_padding():
    model = tiny_model("llama", seed=3)
    items = _items(model.tokenizer)
    assert len(items) == 5  # the row with targets gives one item per appended word
    values, layers = term_attention(model, items, batch_size=5, progress=False)
    assert layers == [0, 1, 2, 3] and values.shape == (5, 4, 4)
    from biaskit.batching import pad_ids

    ids, mask, _ = pad_ids([it.ids for it in items], model.tokenizer.pad_token_id, side="right")
    assert (mask == 0).any()  # the batch really is padded
    manual = manual_attention(model, ids, mask)
    for b, it in enumerate(items):
        for layer in range(4):
            expected = manual[layer][b, :, it.query, list(it.term)].sum(-1).numpy()
            np.testing.assert_allclose(values[b, layer], expected, atol=1e-5)
    # the same numbers one text at a time (padding changes nothing)
    alone, _ = term_attention(model, items, batch_size=1, progress=False)
    np.testing.assert_allclose(alone, values, atol=1e-5)


def test_items_positions_and_markers():
    model = tiny_model("llama")
    tok = model.tokenizer
    items = _items(tok)
    first = items[0]
    assert first.query == len(first.ids) - 1  # no target: the slot-predicting last token
    assert first.record["term"] == "nurse" and first.record["n_term_tokens"] == len(first.term)
    marked = items[2]
    assert marked.text == "A teacher walked in and she sat down"
    assert marked.record["term"] == "teacher" and marked.record["query_token"] in ("e", "he", "she")
    assert tok.decode([marked.ids[j] for j in marked.term]).strip() == "teacher"
    assert [it.record["appended"] for it in items[3:]] == ["she", "he"]
    assert items[3].text == "Every engineer knows she"
    assert 0 < first.uniform < 1
    with pytest.raises(SubjectNotFoundError):
        attention_items(tok, [{"text": "no term here", "subject": "pilot"}])
    with pytest.raises(DataError, match="after the group term"):
        attention_items(tok, [{"text": "she met the pilot", "subject": "pilot", "t": "she"}], target="t")
    with pytest.raises(DataError, match="query token must come after"):
        attention_items(tok, [{"text": "the pilot", "subject": "pilot"}])


def test_eager_switch_is_restored():
    model = tiny_model("llama")
    before = model.hf.config._attn_implementation
    assert before != "eager"
    with eager_attention(model):
        assert model.hf.config._attn_implementation == "eager"
    assert model.hf.config._attn_implementation == before
    with pytest.raises(RuntimeError), eager_attention(model):
        raise RuntimeError("boom")
    assert model.hf.config._attn_implementation == before


def test_cell_statistics_against_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.normal(0.3, 0.1, size=(200, 6))
    mean, lo, hi = cell_summary(x, n_boot=2000, seed=1)
    se = x.std(axis=0, ddof=1) / np.sqrt(200)
    np.testing.assert_allclose(mean, x.mean(0))
    np.testing.assert_allclose(hi - lo, 2 * 1.96 * se, rtol=0.15)  # bootstrap ~ normal interval
    assert np.all(lo < mean) and np.all(mean < hi)
    small = x[:4]
    _, lo_s, hi_s = cell_summary(small, n_boot=100)
    from scipy.stats import t

    half = t.ppf(0.975, 3) * small.std(axis=0, ddof=1) / 2
    np.testing.assert_allclose(hi_s - lo_s, 2 * half)
    after = x.copy()
    after[:, 0] += 0.05  # one cell changes, the others do not
    diff, dlo, dhi, p = paired_summary(x, after, n_boot=1000, seed=0)
    assert diff[0] == pytest.approx(0.05) and dlo[0] > 0 and p[0] < 0.01
    assert np.all(diff[1:] == 0) and np.all(p[1:] == 1.0)
    q = bh_qvalues(np.array([0.01, 0.04, 0.03, 0.5]))
    # by hand: sorted p 0.01, 0.03, 0.04, 0.5 -> p*m/rank 0.04, 0.06, 0.0533, 0.5 -> running min
    np.testing.assert_allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_report_ranking_shapes_and_save(tmp_path):
    model = tiny_model("llama", seed=1)
    rows = [{"text": f"The {w} of the town said that", "subject": w, "lang": "en" if i % 2 else "fr"}
            for i, w in enumerate(["baker", "miller", "weaver", "smith", "potter", "mason",
                                   "tailor", "cooper", "carver", "glazer", "tanner", "joiner"])]
    items = attention_items(model.tokenizer, rows)
    report = attention_report(model, items, layers="1-3", by="lang", n_boot=200, progress=False)
    assert report.values.shape == (12, 3, 4) and report.layers == (1, 2, 3)
    assert report.groups == ["all", "fr", "en"]
    assert len(report.records) == 3 * 3 * 4
    mat = report.matrix("all")
    assert mat.shape == (3, 4)
    np.testing.assert_allclose(mat, report.values.mean(0))
    top = report.top_heads(3)
    assert [r["rank"] for r in top] == [1, 2, 3]
    assert top[0]["mean"] == pytest.approx(float(np.max(mat)))
    assert all(r["ci_low"] <= r["mean"] <= r["ci_high"] for r in report.records)
    report.save(tmp_path)
    for name in ("attention.json", "attention.csv", "attention_items.csv",
                 "attention_values.safetensors", "attention_heatmap.png"):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "attention.json").read_text())
    assert saved["top_heads"]["all"][0]["mean"] == pytest.approx(top[0]["mean"])
    # an identical "variant" changes nothing; a report on other items cannot be compared
    same = compare_attention(report, report, names=("base", "copy"), n_boot=200)
    assert not same.changed() and all(r["diff"] == 0 for r in same.records)
    same.save(tmp_path)
    assert (tmp_path / "compare_copy.png").exists()


def test_comparison_finds_the_changed_head():
    model = tiny_model("llama", seed=2)
    rows = [{"text": f"My neighbour the {w} said that", "subject": w}
            for w in ["baker", "miller", "weaver", "smith", "potter", "mason", "tailor", "cooper",
                      "carver", "glazer", "tanner", "joiner", "fisher", "hunter"]]
    items = attention_items(model.tokenizer, rows)
    base = attention_report(model, items, layers=[2], n_boot=500, progress=False)
    # Scale the query projection of head 1 in layer 2: its softmax sharpens, so its weight on
    # the term moves; the other heads of that layer (and layer 2's input) are untouched.
    q_proj = model.hf.model.layers[2].self_attn.q_proj
    saved = q_proj.weight.detach().clone()
    with torch.no_grad():
        q_proj.weight[16:32] *= 6.0
    try:
        edited = attention_report(model, items, layers=[2], n_boot=500, progress=False, variant="edit")
    finally:
        with torch.no_grad():
            q_proj.weight.copy_(saved)
    cmp = compare_attention(base, edited, n_boot=500)
    changed = {(r["layer"], r["head"]) for r in cmp.changed()}
    assert (2, 1) in changed
    assert changed <= {(2, 1)}
    assert cmp.records[0]["base"] == pytest.approx(base.records[0]["mean"])


def test_lab_tiny_gender_professions(lab_tiny_model, lab_tiny):
    from biaskit.data import read_rows

    rows = [r for r in read_rows(lab_tiny.dataset_path("gender_professions"))
            if r["language"] == "en"][:24]
    items = attention_items(lab_tiny_model.tokenizer, rows, append="targets")
    report = attention_report(lab_tiny_model, items, by="appended", n_boot=200, progress=False)
    n_layers = lab_tiny_model.n_layers
    assert report.values.shape[:2] == (48, n_layers)
    assert np.all(np.isfinite(report.values))
    assert np.all(report.values >= 0) and np.all(report.values <= 1 + 1e-6)
    assert set(report.groups) == {"all", rows[0]["targets"][0], rows[0]["targets"][1]}
    assert lab_tiny_model.hf.config._attn_implementation != "eager"  # restored


@pytest.mark.parametrize("model_type", ["gpt2", "gptj", "gpt_neox", "qwen3", "gemma2", "phi3", "olmo2"])
def test_other_architectures(model_type):
    """Weights are read for every decoder family, padding-independent, and in [0, 1]."""
    model = tiny_model(model_type, seed=0)
    before = model.hf.config._attn_implementation
    items = _items(model.tokenizer)
    batched, layers = term_attention(model, items, batch_size=5, progress=False)
    alone, _ = term_attention(model, items, batch_size=1, progress=False)
    assert batched.shape == (5, model.n_layers, model.config.num_attention_heads)
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    assert np.all((batched >= 0) & (batched <= 1 + 1e-6))
    assert model.hf.config._attn_implementation == before
