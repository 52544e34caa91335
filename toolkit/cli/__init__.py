"""The `biaskit` command line.

`main()` is the console script. It turns every user error (`BiaskitError`, or a click
usage error) into one line on stderr and exit code 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import logging
import sys

import click

from biaskit import __version__
from biaskit.cli.attention import attention_cmd
from biaskit.cli.capture import capture_cmd
from biaskit.cli.edit import edit_cmd
from biaskit.cli.embed import embed_cmd
from biaskit.cli.evaluate import evaluate_cmd
from biaskit.cli.generate import generate_cmd
from biaskit.cli.info import info_cmd
from biaskit.cli.interactions import interactions_group
from biaskit.cli.lab import lab_group
from biaskit.cli.locate import locate_cmd
from biaskit.cli.probe import probe_cmd
from biaskit.cli.recipes import recipes_group
from biaskit.cli.run import run_cmd, validate_cmd
from biaskit.cli.stylometry import stylometry_cmd
from biaskit.cli.trace import trace_cmd
from biaskit.errors import BiaskitError

EXIT_USER_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="biaskit")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logs.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and results.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Find where sociodemographic and cultural features live inside a language model.

    biaskit then edits the weights that carry a bias, with evidence before and after.

    Pipeline: probe -> locate -> edit or fine-tune -> verify. Models are `lab` (a small
    model with planted biases, built offline), `lab-tiny`, a Hugging Face hub id, or a
    local model directory.
    """
    from biaskit.log import setup_logging

    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    setup_logging(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)


cli.add_command(info_cmd)
cli.add_command(lab_group)
cli.add_command(capture_cmd)
cli.add_command(probe_cmd)
cli.add_command(trace_cmd)
cli.add_command(locate_cmd)
cli.add_command(edit_cmd)
cli.add_command(evaluate_cmd)
cli.add_command(embed_cmd)
cli.add_command(attention_cmd)
cli.add_command(generate_cmd)
cli.add_command(stylometry_cmd)
cli.add_command(run_cmd)
cli.add_command(validate_cmd)
cli.add_command(recipes_group)
cli.add_command(interactions_group)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code: 0, or 2 for a user error.

    The console script wrapper passes the return value to `sys.exit`.
    """
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="biaskit", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as exc:
        hint = f" (see 'biaskit {exc.ctx.command_path.split(' ', 1)[-1]} --help')" if (
            exc.ctx and " " in exc.ctx.command_path) else " (see 'biaskit --help')"
        click.echo(f"error: {exc.format_message()}{hint}", err=True)
        return EXIT_USER_ERROR
    except (BiaskitError, click.ClickException) as exc:
        if debug:
            raise
        message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        click.echo(f"error: {message}", err=True)
        return EXIT_USER_ERROR
    return 0
