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


@contextmanager
def simulation_progress(days: float) -> Iterator[Callable[[float, int, float], None]]:
    """Yield ``update(day, payments, wall_s)`` for a simulation: a bar of simulated days,
    the payments made so far and their rate per second of wall time; draws only on a
    terminal."""
    console = Console(stderr=True)
    if not sys.stderr.isatty():
        yield lambda day, payments, wall_s: None
        return
    columns = [
        TextColumn("simulating"),
        BarColumn(),
        TextColumn("day {task.completed:,.0f}/{task.total:,.0f}"),
        TextColumn("{task.fields[payments]:,} payments"),
        TextColumn("{task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("simulating", total=days, payments=0, rate=0.0)

        def update(day: float, payments: int, wall_s: float) -> None:
            rate = payments / wall_s if wall_s > 0 else 0.0
            progress.update(task, completed=day, payments=payments, rate=rate)

        yield update


@contextmanager
def task_progress(label: str, total: int) -> Iterator[Callable[[int, str], None]]:
    """Yield ``advance(done, note)`` for ``total`` tasks (a sweep's points); terminal only."""
    console = Console(stderr=True)
    if not sys.stderr.isatty():
        yield lambda done, note: None
        return
    columns = [
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total, note="")
        yield lambda done, note: progress.update(task, completed=done, note=note)
