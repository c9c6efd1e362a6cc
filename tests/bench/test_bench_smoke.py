"""`make bench` in miniature, so that it cannot rot: each ceiling and SQLite heartbeats, briefly.

It checks that real answers came back and that the CPU meter read the processes, not speeds.
"""

from __future__ import annotations

import pytest

from bench.run import pick, run, table

pytestmark = pytest.mark.mqtt


def test_every_echo_and_sqlite_heartbeats_answer_without_errors() -> None:
    picked = pick("aiomqtt-echo,paho-echo,socket-echo,sqlite:heartbeat", postgres=False)

    cells = run(picked, counts=(3,), seconds=1.0)

    assert [(cell.stack.name, cell.op) for cell in cells] == [
        ("aiomqtt-echo", "heartbeat"),
        ("paho-echo", "heartbeat"),
        ("socket-echo", "heartbeat"),
        ("sqlite", "heartbeat"),
    ]
    for cell in cells:
        assert cell.result.errors == 0, cell
        assert cell.result.latencies, cell
        assert cell.result.answers > 0, cell
        assert sum(cell.result.cpu[pid] for pid in cell.servers) > 0, cell
    assert len(table(cells).splitlines()) == 2 + len(cells)


def test_only_names_cells_of_the_bench() -> None:
    assert [(stack.name, ops) for stack, ops in pick("sqlite:purchase", postgres=True)] == [
        ("sqlite", ("purchase",))
    ]
    with pytest.raises(ValueError, match="not a cell"):
        pick("socket-echo:purchase", postgres=True)
