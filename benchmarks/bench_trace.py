"""Causal tracing of one prompt on a 12-layer GPT-2-small-shaped model (random weights).

All layers x the subject's and later tokens x 3 sites, 10 noise samples. Goal (issue 3): at most
tokens x sites batched forward passes, against layers x tokens x sites x samples
sequential ones in a naive implementation. Prints passes, time, and the time of one bare
forward pass of the same prompt for scale; the last line is the pass ratio.
"""

from __future__ import annotations

import argparse
import time

import torch
from _common import machine

from biaskit.models.tiny import tiny_model
from biaskit.probes.tracing import trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--max-batch", type=int, default=512)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    model = tiny_model("gpt2", n_layer=12, n_embd=768, n_head=12, n_positions=1024, vocab_size=50257)
    # The byte-level test tokenizer spends one token per character; this prompt has the
    # length in tokens (~20) that a real tokenizer gives a two-sentence prompt.
    prompt, subject = "The capital of Peru is", "Peru"
    ids = model.tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        model.hf(**ids)
        t0 = time.perf_counter()
        model.hf(**ids)
        bare = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = trace(model, [prompt], subject=subject, target="Santiago", samples=args.samples,
                   max_batch=args.max_batch, progress=False)
    seconds = time.perf_counter() - t0
    n_tok, n_sites, n_layers = len(report.prompts[0].tokens), len(report.sites), model.n_layers
    naive = n_layers * n_tok * n_sites * args.samples
    budget = n_tok * n_sites
    print(f"prompt of {n_tok} tokens, {n_layers} layers, {n_sites} sites, {args.samples} samples")
    print(f"forward passes: {report.forward_passes} (budget tokens x sites = {budget}; "
          f"naive sequential = {naive})")
    print(f"time: {seconds:.1f}s; one bare forward of the prompt: {bare * 1000:.1f} ms")
    print(f"passes / (tokens x sites): {report.forward_passes / budget:.3f}")


if __name__ == "__main__":
    main()
