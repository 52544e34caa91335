"""Logging through rich, configured once by the CLI (library code only calls getLogger)."""

from __future__ import annotations

import logging


def setup_logging(level: int = logging.INFO) -> None:
    """Route the `biaskit` logger through a rich handler on stderr.

    Called by the CLI, never at import, so that applications embedding biaskit keep
    control of their own logging.
    """
    from rich.console import Console
    from rich.logging import RichHandler

    logger = logging.getLogger("biaskit")
    logger.handlers.clear()
    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=True)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
