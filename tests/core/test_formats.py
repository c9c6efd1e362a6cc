"""The formats module stays importable by the wire contract: standard library only."""

from __future__ import annotations

import sys

from tests.import_time import modules_loaded_by


def test_importing_formats_loads_nothing_but_the_standard_library() -> None:
    loaded = modules_loaded_by("core.formats")

    outside = {name for name in loaded if name.partition(".")[0] not in sys.stdlib_module_names}
    assert outside == {"core", "core.formats"}
