"""The wire contract loads without the database layer, bcrypt or the services of `core`."""

from __future__ import annotations

import pytest

from tests.import_time import modules_loaded_by


@pytest.fixture(scope="module")
def loaded() -> list[str]:
    return modules_loaded_by("broker.contract")


def test_importing_the_contract_loads_no_sqlalchemy_and_no_bcrypt(loaded: list[str]) -> None:
    packages = {name.partition(".")[0] for name in loaded}

    assert packages & {"sqlalchemy", "bcrypt"} == set()


def test_importing_the_contract_loads_of_core_only_formats_and_text(loaded: list[str]) -> None:
    from_core = {name for name in loaded if name.partition(".")[0] == "core"}

    assert from_core == {"core", "core.formats", "core.text"}
