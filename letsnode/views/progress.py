"""Progress display for long operations: a rich bar on stderr, only for a person watching."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextmanager
def counting_progress(
    label: str, unit: str, total: int | None = None
) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(done)``; draws only when stderr is a terminal."""
    console = Console(stderr=True)
    if not sys.stderr.isatty():
        yield lambda done: None
        return
    columns = [
        TextColumn(f"{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda done: progress.update(task, completed=done)
