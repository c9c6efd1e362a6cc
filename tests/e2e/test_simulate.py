"""`makerbus simulate` drives a fleet of reference controllers through real sessions."""

from __future__ import annotations

from tests.e2e.stack import Stack


def test_simulated_fleet_runs_sessions_and_keeps_the_ledger(stack: Stack) -> None:
    result = stack.cli(
        "simulate",
        "--machines",
        "4",
        "--members",
        "2",
        "--seconds",
        "6",
        "--work-min-s",
        "1",
        "--work-max-s",
        "2",
        "--prefix",
        "simtest",
    )

    assert "4 simulated machines, 2 members" in result.stdout
    assert "machine on" in result.stdout
    assert "machine off" in result.stdout
    stack.check_ledger()
