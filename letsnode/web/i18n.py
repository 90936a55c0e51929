"""Languages of the wallet. The catalogs are flat JSON files in ``locales/``, one per
language, with the same keys; the wallet loads them and formats amounts and dates with
``Intl``. Arabic is laid out right to left."""

from __future__ import annotations

from pathlib import Path

LOCALES = Path(__file__).parent / "locales"
LANGUAGES = {
    "en": {"name": "English", "dir": "ltr"},
    "es": {"name": "Español", "dir": "ltr"},
    "el": {"name": "Ελληνικά", "dir": "ltr"},
    "pt": {"name": "Português", "dir": "ltr"},
    "fr": {"name": "Français", "dir": "ltr"},
    "ar": {"name": "العربية", "dir": "rtl"},
}
