"""`biaskit generate`: run a prompt battery over a model and its variants."""

from __future__ import annotations

from pathlib import Path

import click

from biaskit.cli.attention import parse_variant
from biaskit.cli.options import ADAPTER_KEY, load_from_options, model_options, out_option


@click.command("generate")
@model_options
@click.option("--battery", "-b", required=True,
              help="A .yaml or .jsonl battery (data/batteries/... finds the bundled ones).")
@click.option("--variant", "variants", multiple=True,
              help="Repeatable: base, an adapter or edit folder, or NAME=FOLDER (default: base).")
@click.option("--repeats", default=None, type=int, help="Samples per prompt (default: the battery's).")
@click.option("--greedy", is_flag=True, help="Greedy decoding instead of sampling.")
@click.option("--temperature", default=0.8, show_default=True, help="Softmax temperature.")
@click.option("--top-p", default=0.95, show_default=True, help="Nucleus sampling mass (1: off).")
@click.option("--top-k", default=0, show_default=True, help="Keep the k most likely tokens (0: off).")
@click.option("--max-new-tokens", default=48, show_default=True, help="Tokens generated at most.")
@click.option("--chat", type=click.Choice(["auto", "always", "never", "plain"]), default="auto",
              show_default=True, help="Use the tokenizer's chat template (auto: when it has one).")
@click.option("--backend", type=click.Choice(["transformers", "vllm"]), default="transformers",
              show_default=True, help="vllm needs `pip install 'biaskit[vllm]'` and a GPU.")
@click.option("--seed", default=0, show_default=True, help="Seed all sample seeds derive from.")
@click.option("--batch-size", default=16, show_default=True)
@out_option
def generate_cmd(model: str, dtype: str, device: str, trust_remote_code: bool, battery: str,
                 variants: tuple[str, ...], repeats: int | None, greedy: bool, temperature: float,
                 top_p: float, top_k: int, max_new_tokens: int, chat: str, backend: str, seed: int,
                 batch_size: int, out: str) -> None:
    """Generate every prompt x variant x sample of a battery with fixed seeds.

    Writes generations.jsonl and generations.csv (one row per prompt x variant x sample,
    with every battery variable) and generate.json (sampling parameters) into OUT.
    """
    from rich.console import Console

    from biaskit.models.variants import parse_variants
    from biaskit.prompting.battery import load_battery
    from biaskit.prompting.generate import run_battery
    from biaskit.prompting.sampling import SamplingConfig

    sampling = SamplingConfig(do_sample=not greedy, temperature=temperature, top_p=top_p,
                              top_k=top_k, max_new_tokens=max_new_tokens, seed=seed)
    bat = load_battery(battery, repeats=repeats)
    parsed = parse_variants([parse_variant(v) for v in variants] or None)
    if backend == "vllm":
        if click.get_current_context().meta.get(ADAPTER_KEY):
            raise click.UsageError("with --backend vllm, pass adapters as --variant, not --adapter")
        target: object = model
    else:
        target = load_from_options(model, dtype, device, trust_remote_code)
    result = run_battery(target, bat, parsed, sampling=sampling, backend=backend,
                         batch_size=batch_size, chat=chat)
    result.save(Path(out))
    Console().print(f"{len(result.rows)} generations ({len(bat.prompts)} prompts x {len(parsed)} "
                    f"variants x {result.config['repeats']} samples) in [bold]{out}[/bold]")
