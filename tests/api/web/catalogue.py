"""The texts the pages say, as gettext finds them in the templates and in `api`'s code."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

import api

API = Path(api.__file__).parent
METHODS = [("web/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"web/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}


def source_messages() -> dict[str, str]:
    """Every English text, with where it first appears."""
    found: dict[str, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        API, METHODS, options_map=OPTIONS, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        texts = message if isinstance(message, tuple) else (message,)
        for text in texts:
            if text:
                found.setdefault(text, f"{filename}:{line}")
    return found


if __name__ == "__main__":
    # `python -m tests.api.web.catalogue`: the texts still without German, as .po entries to fill.
    from api.web.i18n import read_catalogue

    german = read_catalogue("de")
    for text, where in source_messages().items():
        if text not in german or not german[text].string:
            escaped = text.replace("\\", "\\\\").replace('"', '\\"')
            print(f'#: {where}\nmsgid "{escaped}"\nmsgstr ""\n')  # noqa: T201
