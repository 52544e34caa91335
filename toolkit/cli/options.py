"""Options shared by several commands (model, data, output), defined once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

F = Callable[..., Any]


def model_options(func: F) -> F:
    """`--model`, `--dtype`, `--device`, `--trust-remote-code`."""
    for option in reversed([
        click.option("--model", "-m", "model", default="lab", show_default=True,
                     help="lab, lab-tiny, a hub id, or a local model directory."),
        click.option("--dtype", default="auto", show_default=True,
                     help="auto (float32 on CPU, bfloat16 on GPU), float32, float16, bfloat16."),
        click.option("--device", default="auto", show_default=True,
                     help="auto (cuda if present), cpu, cuda, cuda:N."),
        click.option("--trust-remote-code", is_flag=True,
                     help="Run code shipped with the checkpoint (only for models you trust)."),
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


def load_from_options(model: str, dtype: str, device: str, trust_remote_code: bool) -> Any:
    """Load the model named by the shared options, with a status spinner."""
    from rich.console import Console

    from biaskit.models import load_model

    with Console(stderr=True).status(f"loading {model}..."):
        return load_model(model, dtype=dtype, device=device, trust_remote_code=trust_remote_code)
