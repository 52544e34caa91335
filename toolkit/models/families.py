"""Imports every architecture family so each registers its adapter exactly once."""

from biaskit.models import bert, gpt2, gpt_neox, gptj, llama, olmo, phi3  # noqa: F401
