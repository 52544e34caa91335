"""`biaskit info MODEL`: what the model is and where its sites live."""

from __future__ import annotations

import click

from biaskit.cli.options import load_from_options


@click.command("info")
@click.argument("model")
@click.option("--dtype", default="auto", show_default=True, help="Load dtype.")
@click.option("--device", default="auto", show_default=True, help="Load device.")
@click.option("--trust-remote-code", is_flag=True, help="Run code shipped with the checkpoint.")
def info_cmd(model: str, dtype: str, device: str, trust_remote_code: bool) -> None:
    """Show architecture, size, dtype, device and the module path of each site."""
    from rich.console import Console
    from rich.table import Table

    from biaskit.models import SITES

    m = load_from_options(model, dtype, device, trust_remote_code)
    table = Table(title=f"biaskit info: {m.name}", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("architecture", f"{m.model_type} (adapter: {m.adapter.family})")
    table.add_row("layers", str(m.n_layers))
    table.add_row("hidden size", str(m.hidden_size))
    table.add_row("parameters", f"{m.n_params:,}")
    table.add_row("dtype", str(m.dtype).replace("torch.", ""))
    table.add_row("device", str(m.device))
    table.add_row("causal LM", "yes" if m.adapter.causal else "no (probing only)")
    for site in SITES:
        width = m.site_width(site)
        table.add_row(f"site {site}", f"{m.module_path(site)}  [dim](d={width}, "
                      f"{'input' if site == 'mlp_key' else 'output'})[/dim]")
    rewrite = m.adapter.rewrite_path(m.hf)
    layout = "Conv1D, weight [in, out] (transposed)" if m.adapter.conv1d else "Linear, weight [out, in]"
    table.add_row("edited matrix", f"{rewrite}.weight  [dim]({layout})[/dim]")
    if m.adapter.notes:
        table.add_row("notes", m.adapter.notes)
    Console().print(table)
