"""Rich progress bars for long loops, silent when disabled or not on a terminal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def track(items: Iterable[T], description: str, *, total: int | None = None,
          enabled: bool = True) -> Iterator[T]:
    """Iterate over `items` with a rich progress bar on stderr.

    Args:
        items: What to iterate over.
        description: Label shown beside the bar.
        total: Number of items if `items` has no len().
        enabled: False yields the items with no output (tests, nested loops).
    """
    if not enabled:
        yield from items
        return
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with new_progress() as progress:
        task = progress.add_task(description, total=total)
        for item in items:
            yield item
            progress.advance(task)


def new_progress(*extra: str) -> Any:
    """The rich progress bar biaskit shows on stderr: label, bar, n/total, extras, times.

    Args:
        *extra: Extra text columns, formatted with the task (e.g. `"loss {task.fields[loss]:.3f}"`).
    """
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        *(TextColumn(text) for text in extra), TimeElapsedColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )
