"""Many devices at once never overdraw an account or lose an update."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from core.billing import Tariff
from tests.e2e.stack import Stack

MACHINES = 50
MEMBERS = 10
TARIFF = Tariff(login_fee_cents=50, price_per_minute_cents=10, interval_min=1)  # start: 60
BALANCE = 150
CREDIT = 50  # for the first half of the members
HEARTBEATS = 3


def test_fifty_machines_sharing_poor_members_on_two_workers(two_worker_stack: Stack) -> None:
    stack = two_worker_stack
    members = [
        stack.add_member(
            balance_cents=BALANCE, credit_limit_cents=CREDIT if i < MEMBERS // 2 else 0
        )
        for i in range(MEMBERS)
    ]
    machines = [stack.machine(TARIFF) for _ in range(MACHINES)]
    owner = {i: members[i % MEMBERS] for i in range(MACHINES)}
    for i, machine in enumerate(machines):
        stack.authorize(machine, owner[i])
    devices = [stack.device(machine) for machine in machines]
    barrier = threading.Barrier(MACHINES)

    def drive(i: int) -> tuple[int, str, int]:
        """One machine's session: (member, outcome, total cents billed)."""
        device, member = devices[i], owner[i]
        barrier.wait()
        started = device.request("session/start", card=member.card_uid, timeout=20)
        if not started.ok:
            return member.member_id, str(started.error), 0
        for _ in range(HEARTBEATS):
            device.request("session/heartbeat", session_id=started["session_id"], timeout=20)
        ended = device.request("session/end", session_id=started["session_id"], timeout=20)
        assert ended.ok, ended.raw
        return member.member_id, "ran", int(str(ended["total_cents"]))

    with ThreadPoolExecutor(MACHINES) as pool:
        results = list(pool.map(drive, range(MACHINES)))

    runs: dict[int, int] = defaultdict(int)
    billed: dict[int, int] = defaultdict(int)
    for member_id, outcome, total in results:
        assert outcome in ("ran", "insufficient_funds")
        runs[member_id] += outcome == "ran"
        billed[member_id] += total
    for i, member in enumerate(members):
        credit = CREDIT if i < MEMBERS // 2 else 0
        balance = stack.balance(member)
        assert balance >= -credit, "a balance went below its credit limit"
        assert balance == BALANCE - billed[member.member_id], "an update was lost"
        affordable = (BALANCE + credit) // TARIFF.start_cents
        assert 1 <= runs[member.member_id] <= affordable
    stack.check_ledger()
    both_served = [("answered" in stack.log_of(i).read_text()) for i in range(2)]
    assert both_served == [True, True], "the shared subscription did not split the load"
