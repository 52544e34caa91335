"""Options shared by several commands (model, data, output), defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


ADAPTER_KEY = "biaskit.adapter"


def _remember_adapter(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """Keep `--adapter` in the command's context, where `load_from_options` finds it.

    Not passed as a function argument, so every command with `model_options` gets the
    option without each command's signature having to list it.
    """
    ctx.meta[ADAPTER_KEY] = value


def model_options(func: F) -> F:
    """`--model`, `--dtype`, `--device`, `--trust-remote-code`, `--adapter`."""
    for option in reversed([
        click.option("--model", "-m", "model", default="lab", show_default=True,
                     help="lab, lab-tiny, a hub id, or a local model directory."),
        click.option("--dtype", default="auto", show_default=True,
                     help="auto (float32 on CPU, bfloat16 on GPU), float32, float16, bfloat16."),
        click.option("--device", default="auto", show_default=True,
                     help="auto (cuda if present), cpu, cuda, cuda:N."),
        click.option("--trust-remote-code", is_flag=True,
                     help="Run code shipped with the checkpoint (only for models you trust)."),
        click.option("--adapter", default=None, expose_value=False, callback=_remember_adapter,
                     type=click.Path(exists=True, file_okay=False),
                     help="A peft LoRA adapter folder to merge into the model (a variant)."),
    ]):
        func = option(func)
    return func


def data_options(func: F) -> F:
    """`--data`, `--text`, `--label`, `--subject`."""
    for option in reversed([
        click.option("--data", "-d", required=True,
                     help="A .jsonl/.json/.csv/.tsv file, or a lab dataset: lab:gender_professions."),
        click.option("--text", "text_col", default="text", show_default=True,
                     help="Column holding the text."),
        click.option("--label", "label_col", default=None, help="Column holding the label."),
        click.option("--subject", "subject_col", default=None,
                     help="Column holding the subject (for subject positions)."),
    ]):
        func = option(func)
    return func


def out_option(func: F) -> F:
    """`--out DIR` (required): where JSON and CSV results go."""
    return click.option("--out", "-o", required=True, type=click.Path(file_okay=False),
                        help="Output directory (JSON + tidy CSV).")(func)


def load_from_options(model: str, dtype: str, device: str, trust_remote_code: bool,
                      adapter: str | None = None) -> Any:
    """Load the model named by the shared options, with a status spinner.

    `adapter` defaults to the command's `--adapter` option (see `model_options`).
    """
    from rich.console import Console

    from biaskit.models import load_model

    if adapter is None:
        ctx = click.get_current_context(silent=True)
        adapter = ctx.meta.get(ADAPTER_KEY) if ctx is not None else None
    label = f"{model} + {adapter}" if adapter else model
    with Console(stderr=True).status(f"loading {label}..."):
        return load_model(model, dtype=dtype, device=device, trust_remote_code=trust_remote_code,
                          adapter=adapter)
