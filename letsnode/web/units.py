"""What members call the community's unit, in their own language: "1 hour", "2,5 horas",
"3 ώρες", "3 ساعات" rather than the unit code "HOUR" of the genesis entry.

A name is a set of plural forms, one word per CLDR plural category (``one`` and
``other`` always; ``zero``, ``two``, ``few``, ``many`` where a language has them): the
wallet picks the form with ``Intl.PluralRules`` for the amount it shows. Common unit
codes have names in every language of the wallet; stewards (in the wallet) or the
operator (``letsnode unit name``) set the community's own, kept in the web tables
(``WebStore.unit_names``), never in the signed log.
"""

from __future__ import annotations

from typing import Any

from letsnode.core.errors import InvalidInput
from letsnode.core.names import check_text
from letsnode.web.i18n import LANGUAGES

PLURAL_FORMS = ("zero", "one", "two", "few", "many", "other")
REQUIRED_FORMS = ("one", "other")
NAME_MAX = 32

Forms = dict[str, str]


def _same(one: str, other: str | None = None) -> Forms:
    return {"one": one, "other": other or one}


_HOURS: dict[str, Forms] = {
    "en": _same("hour", "hours"),
    "es": _same("hora", "horas"),
    "el": _same("ώρα", "ώρες"),
    "pt": _same("hora", "horas"),
    "fr": _same("heure", "heures"),
    # With a numeral: 1 ساعة, 3–10 ساعات, 11 and up (and fractions) ساعة.
    "ar": {"one": "ساعة", "two": "ساعة", "few": "ساعات", "many": "ساعة", "other": "ساعة"},
}
_MINUTES: dict[str, Forms] = {
    "en": _same("minute", "minutes"),
    "es": _same("minuto", "minutos"),
    "el": _same("λεπτό", "λεπτά"),
    "pt": _same("minuto", "minutos"),
    "fr": _same("minute", "minutes"),
    "ar": {"one": "دقيقة", "two": "دقيقة", "few": "دقائق", "many": "دقيقة", "other": "دقيقة"},
}
_CREDITS: dict[str, Forms] = {
    "en": _same("credit", "credits"),
    "es": _same("crédito", "créditos"),
    "el": _same("μονάδα", "μονάδες"),
    "pt": _same("crédito", "créditos"),
    "fr": _same("crédit", "crédits"),
    "ar": {"one": "رصيد", "two": "رصيد", "few": "أرصدة", "many": "رصيد", "other": "رصيد"},
}
_EUROS: dict[str, Forms] = {
    "en": _same("euro", "euros"),
    "es": _same("euro", "euros"),
    "el": _same("ευρώ"),
    "pt": _same("euro", "euros"),
    "fr": _same("euro", "euros"),
    "ar": _same("يورو"),
}
_DINARS: dict[str, Forms] = {
    "en": _same("dinar", "dinars"),
    "es": _same("dinar", "dinares"),
    "el": _same("δηνάριο", "δηνάρια"),
    "pt": _same("dinar", "dinares"),
    "fr": _same("dinar", "dinars"),
    "ar": {"one": "دينار", "two": "دينار", "few": "دنانير", "many": "دينارًا", "other": "دينار"},
}

# Names the wallet uses for a unit code when the community has not named its unit.
DEFAULT_NAMES: dict[str, dict[str, Forms]] = {
    "HOUR": _HOURS,
    "HOURS": _HOURS,
    "HR": _HOURS,
    "H": _HOURS,
    "MIN": _MINUTES,
    "MINUTE": _MINUTES,
    "MINUTES": _MINUTES,
    "CREDIT": _CREDITS,
    "CREDITS": _CREDITS,
    "EUR": _EUROS,
    "TND": _DINARS,
    "JOD": _DINARS,
}


def default_names(unit: str) -> dict[str, Forms]:
    return DEFAULT_NAMES.get(unit.upper(), {})


def unit_names(unit: str, custom: dict[str, Forms]) -> dict[str, Forms]:
    """The name of ``unit`` in each language of the wallet that has one: the community's
    own where set, else the default for the code."""
    defaults = default_names(unit)
    names: dict[str, Forms] = {}
    for lang in LANGUAGES:
        forms = custom.get(lang) or defaults.get(lang)
        if forms:
            names[lang] = dict(forms)
    return names


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise InvalidInput(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    return lang


def check_forms(value: dict[str, Any]) -> Forms:
    """Plural forms from a request or the command line: ``one`` and ``other`` are needed,
    the other categories optional, each a word of at most ``NAME_MAX`` characters."""
    unknown = sorted(set(value) - set(PLURAL_FORMS))
    if unknown:
        raise InvalidInput(
            f"unknown plural form {unknown[0]!r}: the forms are {', '.join(PLURAL_FORMS)}"
        )
    forms: Forms = {}
    for name in PLURAL_FORMS:
        text = value.get(name)
        if text is None or text == "":
            if name in REQUIRED_FORMS:
                raise InvalidInput(f"{name} is missing: give the unit's name for {name!r}")
            continue
        if not isinstance(text, str):
            raise InvalidInput(f"{name} must be a string")
        forms[name] = check_text(text.strip(), name, NAME_MAX)
    return forms
