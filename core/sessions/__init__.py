"""Machine sessions on the ledger invariant, one module per concept.

- `lifecycle`: what the machine does: start, heartbeat, end (the hot path);
- `closing`: the final bill and refund, an admin's end and the reaper;
- `notices`: telling a machine about a session closed without it;
- `records`: the read model of a session and the lists of them;
- `rows`: the locked session row the rules work on.

Callers use the names below (`sessions.start`, `sessions.Record`).
"""

from core.sessions.closing import Ended, admin_end, reap
from core.sessions.lifecycle import Running, Unfunded, end, heartbeat, start
from core.sessions.notices import Notice, mark_told, untold
from core.sessions.records import Record, device_of, open_counts, record, records

__all__ = [
    "Ended",
    "Notice",
    "Record",
    "Running",
    "Unfunded",
    "admin_end",
    "device_of",
    "end",
    "heartbeat",
    "mark_told",
    "open_counts",
    "reap",
    "record",
    "records",
    "start",
    "untold",
]
