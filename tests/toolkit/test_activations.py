import pytest
import torch

from biaskit.activation_set import ActivationSet
from biaskit.activations import capture
from biaskit.errors import DataError, SubjectNotFoundError
from biaskit.models.tiny import tiny_model

TEXTS = [
    "The nurse said that she",
    "Hola",
    "Le médecin de Valparaíso est arrivé à l'hôpital ce matin",
    "People from Bolivia are",
    "¿Dónde trabaja la ingeniera mapuche?",
]
SITES = ("resid", "mlp_out", "mlp_key", "attn_out")


@pytest.fixture(scope="module", params=["llama", "gpt2", "bert"])
def model(request):
    return tiny_model(request.param, seed=1)


def one_by_one(model, texts, **kw):
    parts = [capture(model, [t], dtype=torch.float32, progress=False, **kw) for t in texts]
    return {s: torch.cat([p.tensor(s) for p in parts]) for s in parts[0].sites}


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("positions", ["last", "first", "mean", 2, -2])
def test_batched_equals_one_text_at_a_time(model, side, positions):
    ref = one_by_one(model, TEXTS, sites=SITES, positions=positions)
    acts = capture(model, TEXTS, sites=SITES, positions=positions, batch_size=3,
                   padding_side=side, dtype=torch.float32, progress=False)
    for site in SITES:
        torch.testing.assert_close(acts.tensor(site), ref[site], atol=1e-5, rtol=1e-5)


def test_positions_pick_the_right_tokens(model):
    """first/last/index rows equal the corresponding rows of the `all` capture."""
    text = TEXTS[2]
    every = capture(model, [text], positions="all", dtype=torch.float32, progress=False)
    n_tok = len(every)
    assert [r["token_index"] for r in every.records] == sorted(r["token_index"] for r in every.records)
    for position, row in (("first", 0), ("last", n_tok - 1), (3, 3), (-3, n_tok - 3)):
        one = capture(model, [text], positions=position, dtype=torch.float32, progress=False)
        torch.testing.assert_close(one.tensor()[0], every.tensor()[row])
    mean = capture(model, [text], positions="mean", dtype=torch.float32, progress=False)
    torch.testing.assert_close(mean.tensor()[0], every.tensor().mean(0), atol=1e-5, rtol=1e-5)


def test_subject_last_is_last_subject_token(model):
    texts = ["The nurse said that she", "People from Bolivia are"]
    subjects = ["nurse", "Bolivia"]
    acts = capture(model, texts, positions="subject_last", subject=subjects,
                   dtype=torch.float32, progress=False)
    for i, (text, subject) in enumerate(zip(texts, subjects, strict=True)):
        end = text.index(subject) + len(subject)
        every = capture(model, [text], positions="all", dtype=torch.float32, progress=False)
        enc = model.tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True)
        # the last content token whose span ends at or before the subject's end
        content = [j for j, s in enumerate(enc["special_tokens_mask"]) if not s]
        target = max(j for j in content if enc["offset_mapping"][j][0] < end)
        row = content.index(target)
        torch.testing.assert_close(acts.tensor()[i], every.tensor()[row])


def test_subject_missing_is_a_clear_error(model):
    with pytest.raises(SubjectNotFoundError, match="'doctor' not found in text 1"):
        capture(model, ["the nurse", "the teacher"], positions="subject_last",
                subject=["nurse", "doctor"], progress=False)


@pytest.mark.parametrize("kwargs, message", [
    ({"texts": []}, "no texts"),
    ({"sites": ("mlp",)}, "unknown site"),
    ({"positions": "middle"}, "unknown position"),
    ({"positions": 40}, "beyond text"),
    ({"padding_side": "up"}, "padding_side"),
    ({"records": [{"a": 1}]}, "1 records for 2 texts"),
])
def test_bad_arguments(model, kwargs, message):
    args = {"texts": ["a b c", "d e"], "progress": False, **kwargs}
    texts = args.pop("texts")
    with pytest.raises(DataError, match=message):
        capture(model, texts, **args)


def test_streaming_equals_in_memory(model, tmp_path):
    texts = [f"text number {i} about Chile and Perú" for i in range(40)] + TEXTS
    records = [{"i": i} for i in range(len(texts))]
    mem = capture(model, texts, sites=("resid", "mlp_key"), batch_size=4, records=records,
                  dtype=torch.float32, progress=False)
    streamed = capture(model, texts, sites=("resid", "mlp_key"), batch_size=4, records=records,
                       dtype=torch.float32, progress=False, max_memory_mb=0.01,
                       stream_dir=tmp_path / "stream")
    assert streamed.on_disk and len(streamed.shards) > 3
    assert streamed.records == mem.records
    for site in ("resid", "mlp_key"):
        torch.testing.assert_close(streamed.tensor(site), mem.tensor(site))
        for layer in mem.layers:
            torch.testing.assert_close(streamed.layer(layer, site), mem.layer(layer, site))


def test_save_load_roundtrip(model, tmp_path):
    acts = capture(model, TEXTS, sites=("resid", "mlp_out"), layers=[0, 2],
                   records=[{"label": i % 2} for i in range(len(TEXTS))], progress=False)
    acts.save(tmp_path / "acts")
    for lazy in (False, True):
        back = ActivationSet.load(tmp_path / "acts", lazy=lazy)
        assert back.layers == (0, 2) and back.sites == ("resid", "mlp_out")
        assert back.column("label") == [0, 1, 0, 1, 0]
        assert back.meta["fingerprint"] == model.fingerprint()
        torch.testing.assert_close(back.layer(2, "mlp_out"), acts.layer(2, "mlp_out"))
    assert acts.tensor("resid").dtype == torch.float16
    with pytest.raises(DataError, match="no column 'gender'"):
        acts.column("gender")


def test_a_failed_save_leaves_the_previous_set_whole(model, tmp_path, monkeypatch):
    import biaskit.activation_set as module

    acts = capture(model, TEXTS, layers=[0], progress=False)
    acts.save(tmp_path / "acts")
    before = sorted(p.name for p in (tmp_path / "acts").iterdir())

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(module, "write_json", broken)
    with pytest.raises(OSError, match="disk full"):
        acts.save(tmp_path / "acts")
    assert sorted(p.name for p in (tmp_path / "acts").iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["acts"]  # no temporary folder left
    assert ActivationSet.load(tmp_path / "acts").layers == (0,)


def test_load_rejects_non_activation_dir(tmp_path):
    with pytest.raises(DataError, match="not an activation set"):
        ActivationSet.load(tmp_path)
