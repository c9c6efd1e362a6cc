"""What importing a module loads, as `python -X importtime` reports it in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys


def modules_loaded_by(module: str) -> list[str]:
    """The modules `import <module>` loads, in load order; the interpreter's start-up (which
    `site` ends, with the editable installs' finders) is left out."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    # "import time: <self us> | <cumulative us> | <indented name>", after one header line.
    names = [line.rpartition("|")[2].strip() for line in result.stderr.splitlines()[1:]]
    return names[names.index("site") + 1 :]
