"""`biaskit stylometry`: style features, a classifier for a label, Burrows' Delta."""

from __future__ import annotations

from pathlib import Path

import click

from biaskit.cli.options import out_option


@click.command("stylometry")
@click.option("--data", "-d", required=True,
              help="Texts with a label column: .jsonl/.json/.csv/.tsv (e.g. a generate step's "
                   "generations.jsonl).")
@click.option("--text", "text_col", default="text", show_default=True, help="Column holding the text.")
@click.option("--label", "label_col", required=True,
              help="Column to predict from style (variant, profile, stance...).")
@click.option("--language", default="auto", show_default=True,
              help="auto (a `language` column, else detected per text), en, es, fr, or a column.")
@click.option("--id", "id_col", default=None, help="Column identifying each text (default: row index).")
@click.option("--cv", default=5, show_default=True, help="Cross-validation folds.")
@click.option("--C", "C", default=1.0, show_default=True, help="Inverse L2 strength.")
@click.option("--clusters", "cluster_col", default=None,
              help="Column of texts that belong together (respondent, conversation, prompt).")
@click.option("--permutations", default=100, show_default=True,
              help="Cross-validations on shuffled labels (the chance level).")
@click.option("--n-boot", default=1000, show_default=True, help="Bootstrap resamples for the CIs.")
@click.option("--top-k", default=10, show_default=True, help="Discriminative features per class.")
@click.option("--seed", default=0, show_default=True)
@out_option
def stylometry_cmd(data: str, text_col: str, label_col: str, language: str, id_col: str | None,
                   cluster_col: str | None, cv: int, C: float, permutations: int, n_boot: int, top_k: int,  # noqa: N803
                   seed: int, out: str) -> None:
    """Predict --label from the style of the texts, against chance, and say which features tell.

    Writes stylometry.json, tidy CSVs (per text, per class, confusion, top features,
    Burrows' Delta, group means) and PNGs into OUT. No model is loaded.
    """
    from rich.console import Console

    from biaskit.analysis.stylometry import StylometryConfig, stylometry_analysis
    from biaskit.analysis.stylometry_classify import ClassifierConfig
    from biaskit.data import load_table

    table = load_table(data, text=text_col, label=label_col)
    config = StylometryConfig(classifier=ClassifierConfig(cv=cv, C=C, n_boot=n_boot,
                                                          permutations=permutations, top_k=top_k),
                              seed=seed)
    report = stylometry_analysis(table.rows, label_col, text=text_col, language=language,
                                 id_column=id_col, cluster_column=cluster_col, config=config)
    report.save(Path(out))
    console = Console()
    console.print(report.as_table())
    console.print(f"results in [bold]{out}[/bold]")
