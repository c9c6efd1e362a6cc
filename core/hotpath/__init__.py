"""Hand-written SQL on the session's driver connection, for what nearly every request runs.

Why it exists: a heartbeat through SQLAlchemy's async layer spent ~5 ms of CPU on this machine
kind, most of it in statement coercion, cache keys and greenlet switches, for a few index
lookups. So the statements device requests run all the time are written out per dialect
(`driver.Statement`) and run on the driver connection (psycopg or aiosqlite): the stored answers
(`core.idempotency`), the ledger (`core.ledger.post`), the card lookup (`core.cards.identify`),
a machine's own session rows (`core.sessions`), last-seen (`devices`) and the heartbeat, one
statement with its stored-answer lookup folded in (`sessions`).

They run inside the transaction the caller's session opened, so the ORM, the Core statements of
the rarer branches and the tests' savepoints all see one connection and one transaction. Like
`core.db.run`, they do not flush the ORM session first.
"""
