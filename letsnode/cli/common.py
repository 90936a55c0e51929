"""What every ``letsnode`` command shares: the data folder, one-line errors, JSON output.

Errors leave as one line on stderr, ``error: <what was wrong> [<code>]``, with exit code 1
(2 for a malformed command line); nothing in the ledger changes when a command fails.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click

from letsnode.cli.context import Context as Context
from letsnode.core.amounts import parse_decimal
from letsnode.core.errors import InvalidInput, LetsError
from letsnode.node.control import ControlClient, client_for


def fail(err: LetsError) -> NoReturn:
    click.echo(f"error: {err} [{err.code}]", err=True)
    sys.exit(1)


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except LetsError as err:
        fail(err)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


pass_ctx = click.make_pass_decorator(Context)


def limit_option(text: str | None, scale: int, what: str) -> int | None:
    if text is None or text == "none":
        return None
    return parse_decimal(text, scale, what)


def running(data: Path) -> ControlClient:
    """The control socket of the node running on ``data``; refuse if none runs."""
    client = client_for(data)
    if client is None:
        raise InvalidInput(
            f"no node is running on {data}: start it with 'letsnode --data {data} run'"
        )
    return client
