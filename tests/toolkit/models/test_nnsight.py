"""biaskit's hook capture and an nnsight trace read the same numbers."""

import torch

from biaskit.activations import capture
from biaskit.models.tiny import tiny_model


def test_nnsight_trace_matches_capture():
    model = tiny_model("llama")
    lm = model.nnsight()
    text = "The nurse said that"
    with lm.trace(text):
        saved = lm.model.layers[2].output.save()
    hidden = saved[0] if isinstance(saved, tuple) else saved
    acts = capture(model, [text], layers=[2], dtype=torch.float32, progress=False)
    torch.testing.assert_close(hidden[0, -1], acts.tensor()[0, 0], atol=1e-5, rtol=1e-5)
