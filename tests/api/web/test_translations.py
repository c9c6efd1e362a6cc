"""Every text a page can say has its German translation, and no translation is left over."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from api.web.i18n import catalogue_files, read_catalogue
from tests.api.web.catalogue import source_messages

PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def test_every_text_of_the_pages_is_translated_to_german() -> None:
    german = read_catalogue("de")
    missing = [
        f"{where}: {text!r}"
        for text, where in source_messages().items()
        if text not in german or not german[text].string or german[text].fuzzy
    ]
    assert missing == [], "no German for:\n" + "\n".join(missing)


def test_a_translation_keeps_the_placeholders_of_its_text() -> None:
    german = read_catalogue("de")
    changed = [
        message.id
        for message in german
        if message.id
        and isinstance(message.id, str)
        and sorted(PLACEHOLDER.findall(message.id))
        != sorted(PLACEHOLDER.findall(str(message.string)))
    ]
    assert changed == []


def test_the_german_catalogue_holds_no_text_the_pages_no_longer_say() -> None:
    said = source_messages()
    unused = [
        message.id for message in read_catalogue("de") if message.id and message.id not in said
    ]
    assert unused == []


def test_each_text_is_translated_in_one_catalogue_file_only() -> None:
    """Two areas translating the same text could disagree, and one would silently win."""
    where: dict[str, list[str]] = {}
    for path in catalogue_files("de"):
        with path.open("rb") as file:
            for message in read_po(file):
                if message.id:
                    where.setdefault(str(message.id), []).append(path.name)
    assert {text: files for text, files in where.items() if len(files) > 1} == {}
