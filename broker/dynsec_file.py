"""Writing the dynamic security plugin's initial JSON without `mosquitto_ctrl`.

The plugin keeps passwords as PBKDF2-SHA512 (12-byte salt, 64-byte hash, base64). Only the first
start needs this file; afterwards the broker owns it and every change goes through the admin API.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from broker.acl import (
    ADMIN_ROLE,
    HANDLER_ROLE,
    MONITOR_ROLE,
    Acl,
    admin_acls,
    handler_acls,
    monitor_acls,
)
from broker.identities import Login
from broker.topics import Topics

# The admin logs in rarely, so its hash can be expensive; mosquitto honours the stored count.
ADMIN_PBKDF2_ITERATIONS = 100_000
SERVICE_PBKDF2_ITERATIONS = 1_000


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str
    acls: tuple[Acl, ...]
    iterations: int = SERVICE_PBKDF2_ITERATIONS


def hash_password(password: str, iterations: int, salt: bytes | None = None) -> dict[str, object]:
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
    }


def service_accounts(
    topics: Topics,
    share_group: str,
    *,
    admin: Login,
    handlers: tuple[Login, ...],
    monitors: tuple[Login, ...],
) -> tuple[Account, ...]:
    """The admin and the handler and monitor pools, each with the least rights it needs.

    Each account's client id is bound to its username (see broker.identities).
    """
    handler = handler_acls(topics, share_group)
    monitor = monitor_acls(topics)
    return (
        Account(admin.username, admin.password, ADMIN_ROLE, admin_acls(), ADMIN_PBKDF2_ITERATIONS),
        *(Account(login.username, login.password, HANDLER_ROLE, handler) for login in handlers),
        *(Account(login.username, login.password, MONITOR_ROLE, monitor) for login in monitors),
    )


def initial_document(accounts: tuple[Account, ...]) -> dict[str, object]:
    roles = {account.role: account.acls for account in accounts}
    return {
        "clients": [
            {
                "username": account.username,
                "clientid": account.username,
                "textName": "makerbus service account",
                **hash_password(account.password, account.iterations),
                "roles": [{"rolename": account.role}],
            }
            for account in accounts
        ],
        "roles": [
            {
                "rolename": role,
                "acls": [
                    {"acltype": acl.acltype, "topic": acl.topic, "allow": acl.allow} for acl in acls
                ],
            }
            for role, acls in roles.items()
        ],
        "groups": [],
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": True,
            "subscribe": False,
            "unsubscribe": True,
        },
    }


def write_initial(path: Path, accounts: tuple[Account, ...]) -> None:
    """Create the file readable by its owner only (it holds password hashes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(initial_document(accounts), indent=2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(data)
