import pytest
import torch

from biaskit.errors import DataError
from biaskit.models.tiny import tiny_model
from biaskit.scoring import continuation_ids, continuation_logprobs


@pytest.mark.parametrize("model_type", ["llama", "gpt2"])
def test_continuation_logprobs_match_manual_full_logits(model_type):
    model = tiny_model(model_type, seed=2)
    prompts = ["The nurse said that", "Hola", "La capital de Chile es"]
    targets = ["she", "mundo cruel", "Santiago"]
    got = continuation_logprobs(model, prompts, targets, batch_size=2)
    for i, (p, t) in enumerate(zip(prompts, targets, strict=True)):
        p_ids, c_ids = continuation_ids(model.tokenizer, p, t)
        ids = torch.tensor([p_ids + c_ids])
        with torch.no_grad():
            logp = torch.log_softmax(model.hf(ids).logits[0].double(), -1)
        want = sum(logp[len(p_ids) - 1 + k, c].item() for k, c in enumerate(c_ids))
        assert got[i].item() == pytest.approx(want, abs=1e-4)


def test_continuation_ids_split_at_prompt():
    tok = tiny_model("llama").tokenizer
    p_ids, c_ids = continuation_ids(tok, "The capital is", "Lima")
    assert tok.decode(c_ids) == " Lima" and p_ids == tok("The capital is")["input_ids"]
    with pytest.raises(DataError, match="empty target"):
        continuation_ids(tok, "x", " ")
