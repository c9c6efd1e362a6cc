"""The hottest requests as hand-written SQL on the driver connection, one dialect each.

Why it exists: a heartbeat through SQLAlchemy's async layer spent ~5 ms of CPU on this machine
kind, most of it in statement coercion, cache keys and greenlet switches, for a few index
lookups. Here the same statements run on the session's own driver connection (psycopg or
aiosqlite), inside the transaction the runtime opened, so everything else (the ORM, the rare
branches, the tests' savepoints) still sees one connection and one transaction.

Only the common case runs here; anything unusual is left to the general path (`None`).
"""
