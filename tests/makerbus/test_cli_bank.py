"""`makerbus cashbox ...`: what the operator reads, and the exit codes."""

from __future__ import annotations

import json

from tests.factories import unique_slug
from tests.makerbus.conftest import Makerbus


def test_cashbox_add_names_the_new_box(makerbus: Makerbus) -> None:
    slug = unique_slug("box")

    done = makerbus("cashbox", "add", slug, "--name", "Drinks fund")

    assert done.exit_code == 0
    assert done.stdout == f"Cash box {slug} 'Drinks fund' created.\n"


def test_cashbox_add_as_json_and_list_show_the_empty_box(makerbus: Makerbus) -> None:
    slug = unique_slug("box")

    added = makerbus("cashbox", "add", slug, "--name", "Main", "--json")
    listed = makerbus("cashbox", "list").stdout.splitlines()
    as_json = json.loads(makerbus("cashbox", "list", "--json").stdout)

    box = {"slug": slug, "name": "Main", "balance_cents": 0}
    assert added.stdout == json.dumps(box, indent=2) + "\n"
    assert f"{slug:<40} {0:>12}  Main" in listed
    assert box in as_json


def test_statement_of_an_empty_box_is_its_balance_line(makerbus: Makerbus) -> None:
    slug = unique_slug("box")
    makerbus("cashbox", "add", slug, "--name", "Main")

    text = makerbus("cashbox", "statement", slug)
    as_json = makerbus("cashbox", "statement", slug, "--json", "--limit", "5")

    assert text.stdout == f"{slug} 'Main': balance 0 cents\n"
    assert json.loads(as_json.stdout) == {
        "slug": slug,
        "name": "Main",
        "balance_cents": 0,
        "entries": [],
    }


def test_a_second_box_of_the_same_slug_fails_with_one_line(makerbus: Makerbus) -> None:
    slug = unique_slug("box")
    makerbus("cashbox", "add", slug, "--name", "Main")

    done = makerbus("cashbox", "add", slug, "--name", "Other")

    assert done.exit_code == 1
    assert done.stderr == f"Error: cash box '{slug}' exists already\n"


def test_statement_of_an_unknown_box_fails_with_one_line(makerbus: Makerbus) -> None:
    done = makerbus("cashbox", "statement", "no-such-box")

    assert done.exit_code == 1
    assert done.stderr == "Error: no cash box 'no-such-box'\n"
