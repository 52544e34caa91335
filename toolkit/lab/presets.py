"""Lab presets: the model size, corpus size and training schedule of a lab build.

A preset plus a seed fully determines a build (same inputs, same files), so the cache key
is a hash of both and of `GENERATOR_VERSION`, which must be bumped whenever the word
lists, templates or training code change what a build produces.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

from biaskit.errors import ConfigError

# Bump when the generator, tokenizer or training code changes the output of a build.
GENERATOR_VERSION = "lab-1"


@dataclass(frozen=True)
class LabPreset:
    """Everything that shapes a lab build except the seed.

    Attributes:
        name: Preset name, used in the cache folder name.
        world: "full" word lists, or the "small" subset (fast test builds).
        n_layers: Decoder layers (>= 4 so that probes and tracing have a middle).
        hidden: Residual stream width.
        intermediate: MLP width (the key space that ROME/MEMIT edit).
        n_heads: Attention heads.
        attention_only: Blocks whose MLP is held at zero during training (and stays zero
            in the saved model). With every MLP free, a small model joins a subject's
            pieces *and* looks up its attributes in block 0, leaving nothing for a middle
            layer; real models assemble words in their first layers and recall attributes
            after. `(0,)` imitates that: on lab-tiny it moves the athletes' fact lookup
            to block 1. `lab` uses it (its 3,000 steps learn every association as well
            as without it); lab-tiny does not, because within its 1,000 steps the
            associations are then learned less well (see docs/lab.md).
        vocab_size: BPE vocabulary size; small, so that subjects split into pieces.
        max_token_length: Longest BPE piece in characters (the byte-level space marker
            counts as one); caps pieces so that no subject is a single token.
        n_per_cell: Corpus sentences per (subject, language, training template) on the
            planted axes; the planted proportion is realised exactly in each cell.
        n_control: Control sentences per (subject, language); even, split 50/50.
        fact_repeats: Copies of each fact sentence (per phrasing) in the corpus.
        n_people: Fictional athletes (person facts: sport, birthplace).
        n_actions: Sport-action sentences per athlete and language.
        n_distractors: Sentences per athlete and language that also name another one.
        n_filler: Neutral filler sentences per language in the corpus.
        n_neutral: Held-out neutral sentences per language (perplexity text).
        steps: Optimiser steps.
        batch_size: Sentences per step.
        lr: Peak learning rate (linear warm-up, then cosine decay).
        warmup: Warm-up steps.
        lr_floor: Final learning rate as a fraction of `lr`.
        weight_decay: AdamW weight decay.
        log_every: Steps between points of the recorded loss curve.
    """

    name: str
    world: str = "full"
    n_layers: int = 4
    hidden: int = 64
    intermediate: int = 256
    n_heads: int = 4
    attention_only: tuple[int, ...] = ()
    vocab_size: int = 1024
    max_token_length: int = 5
    n_per_cell: int = 10
    n_control: int = 6
    fact_repeats: int = 2
    n_people: int = 40
    n_actions: int = 6
    n_distractors: int = 4
    n_filler: int = 150
    n_neutral: int = 60
    steps: int = 3000
    batch_size: int = 32
    lr: float = 6e-3
    warmup: int = 50
    lr_floor: float = 0.0
    weight_decay: float = 0.01
    log_every: int = 25

    def to_dict(self) -> dict:
        """Plain-dict form, as stored in truth.json and hashed into the cache key."""
        return asdict(self)


PRESETS: dict[str, LabPreset] = {
    "lab": LabPreset(name="lab", attention_only=(0,)),
    "lab-tiny": LabPreset(name="lab-tiny", world="small", n_people=24, n_filler=60, steps=1000),
}


def get_preset(preset: str | LabPreset) -> LabPreset:
    """Return the preset named `preset` (or `preset` itself if already a LabPreset).

    Raises:
        ConfigError: `preset` names no known preset; the message lists them.
    """
    if isinstance(preset, LabPreset):
        return preset
    try:
        return PRESETS[preset]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ConfigError(f"unknown lab preset {preset!r}; known presets: {known}") from None


def spec_hash(preset: LabPreset, seed: int) -> str:
    """Hex digest identifying a build: preset values, seed and generator version."""
    spec = {"version": GENERATOR_VERSION, "preset": preset.to_dict(), "seed": int(seed)}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
