"""``letsnode unit``: what members see the community's unit called, in each language of the
wallet ("1 hour", "2,5 horas", "3 ώρες"). Kept in the web tables beside the ledger, never
in the log; a running node shows a change at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from letsnode.cli.common import Context, emit_json, pass_ctx, user_errors
from letsnode.store.web_store import WebStore
from letsnode.web.i18n import LANGUAGES
from letsnode.web.units import check_forms, check_language, unit_names


@click.group()
def unit() -> None:
    """Name the community's unit in each language of the wallet."""


@contextmanager
def opened(obj: Context) -> Iterator[tuple[str, WebStore]]:
    from letsnode.node.facade import Node

    with user_errors():
        node = Node.open(obj.data)
        try:
            yield node.genesis.unit, node.web
        finally:
            node.close()


def show(code: str, custom: dict[str, dict[str, str]], as_json: bool) -> None:
    names = unit_names(code, custom)
    if as_json:
        emit_json(
            {
                "unit": code,
                "languages": {
                    lang: {"forms": names.get(lang), "custom": lang in custom} for lang in LANGUAGES
                },
            }
        )
        return
    click.echo(f"unit {code}")
    for lang in LANGUAGES:
        forms = names.get(lang)
        text = ", ".join(f"{k}={v}" for k, v in forms.items()) if forms else f"(shown as {code})"
        click.echo(f"  {lang}  {text}{'' if lang not in custom else '  [set here]'}")


@unit.command("names")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@pass_ctx
def unit_show(obj: Context, as_json: bool) -> None:
    """Show the unit's name in each language (set here, or the default for its code)."""
    with opened(obj) as (code, web):
        show(code, web.unit_names(), as_json)


@unit.command("name")
@click.argument("lang", type=click.Choice(list(LANGUAGES)))
@click.option("--one", help="The singular, as in '1 hour'.")
@click.option("--other", help="The plural, as in '2.5 hours'.")
@click.option("--zero", help="Where the language has it (ar).")
@click.option("--two", help="Where the language has it (ar).")
@click.option("--few", help="Where the language has it (ar: 3 to 10).")
@click.option("--many", help="Where the language has it (ar: 11 to 99).")
@click.option("--default", "to_default", is_flag=True, help="Go back to the default name.")
@pass_ctx
def unit_name(
    obj: Context,
    lang: str,
    one: str | None,
    other: str | None,
    zero: str | None,
    two: str | None,
    few: str | None,
    many: str | None,
    to_default: bool,
) -> None:
    """Set what the unit is called in LANG (--one and --other at least), or --default."""
    from letsnode.community.folder import now_ms

    forms = {"zero": zero, "one": one, "two": two, "few": few, "many": many, "other": other}
    given = {k: v for k, v in forms.items() if v is not None}
    with opened(obj) as (code, web), user_errors():
        check_language(lang)
        if to_default:
            web.clear_unit_names(lang)
        else:
            web.set_unit_names(lang, check_forms(given), now_ms())
        show(code, web.unit_names(), as_json=False)
