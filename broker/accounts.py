"""Device and service accounts on the broker, expressed as dynamic-security commands."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from broker.acl import DEVICE_GROUP, Acl, device_acls, device_role
from broker.dynsec import Command, DynsecAdmin
from broker.dynsec_file import Account
from broker.topics import Topics

EXISTS = frozenset(
    {
        "Client already exists",
        "Role already exists",
        "Group already exists",
        "ACL with this topic already exists",
    }
)
MISSING = frozenset({"Client not found", "Role not found"})


def new_password() -> str:
    """128 random bits, URL-safe: typed into firmware configs, never stored by makerbus."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class BrokerClient:
    username: str
    clientid: str | None
    disabled: bool
    roles: frozenset[str]
    groups: frozenset[str]

    @property
    def bound(self) -> bool:
        """Its client id is bound to its own name: it cannot take over another's client id."""
        return self.clientid == self.username

    @property
    def is_device(self) -> bool:
        return DEVICE_GROUP in self.groups


def _role_commands(role: str, acls: tuple[Acl, ...]) -> list[Command]:
    return [{"command": "createRole", "rolename": role}] + [
        {"command": "addRoleACL", "rolename": role, **acl.as_json()} for acl in acls
    ]


async def create_device(admin: DynsecAdmin, topics: Topics, slug: str, password: str) -> None:
    """The device's own role and a client whose client id is bound to its slug."""
    role = device_role(slug)
    await admin.run({"command": "createGroup", "groupname": DEVICE_GROUP}, tolerate=EXISTS)
    # A leftover role (from a half-finished earlier attempt) is completed, not an error.
    await admin.run(*_role_commands(role, device_acls(topics, slug)), tolerate=EXISTS)
    await admin.run(
        {
            "command": "createClient",
            "username": slug,
            "clientid": slug,
            "password": password,
            "roles": [{"rolename": role, "priority": 0}],
            "groups": [{"groupname": DEVICE_GROUP, "priority": 0}],
        }
    )


async def repair_device(admin: DynsecAdmin, slug: str, current: BrokerClient) -> bool:
    """Give a device account back its role, group and client-id binding; True if it lacked one.

    Each change disconnects the device once, so only what is missing is changed.
    """
    commands: list[Command] = []
    if device_role(slug) not in current.roles:
        commands.append(
            {
                "command": "addClientRole",
                "username": slug,
                "rolename": device_role(slug),
                "priority": 0,
            }
        )
    if DEVICE_GROUP not in current.groups:
        commands.append(
            {
                "command": "addGroupClient",
                "groupname": DEVICE_GROUP,
                "username": slug,
                "priority": 0,
            }
        )
    if current.clientid != slug:
        commands.append({"command": "setClientId", "username": slug, "clientid": slug})
    if commands:
        await admin.run(*commands)
    return bool(commands)


async def set_password(admin: DynsecAdmin, slug: str, password: str) -> None:
    """The broker disconnects the device at once; it must come back with the new password."""
    await admin.run({"command": "setClientPassword", "username": slug, "password": password})


async def set_enabled(admin: DynsecAdmin, slug: str, *, enabled: bool) -> None:
    """Disabling disconnects the device and refuses it until enabled."""
    command = "enableClient" if enabled else "disableClient"
    await admin.run({"command": command, "username": slug})


async def delete_device(admin: DynsecAdmin, slug: str) -> None:
    await admin.run(
        {"command": "deleteClient", "username": slug},
        {"command": "deleteRole", "rolename": device_role(slug)},
        tolerate=MISSING,
    )


def _client(entry: dict[str, Any]) -> BrokerClient:
    return BrokerClient(
        username=entry["username"],
        clientid=entry.get("clientid"),
        disabled=bool(entry.get("disabled", False)),
        roles=frozenset(r["rolename"] for r in entry.get("roles", [])),
        groups=frozenset(g["groupname"] for g in entry.get("groups", [])),
    )


async def list_clients(admin: DynsecAdmin) -> dict[str, BrokerClient]:
    (data,) = await admin.run({"command": "listClients", "verbose": True, "count": -1})
    return {entry["username"]: _client(entry) for entry in data.get("clients", [])}


async def get_client(admin: DynsecAdmin, username: str) -> BrokerClient:
    (data,) = await admin.run({"command": "getClient", "username": username})
    return _client(data["client"])


async def role_acls(admin: DynsecAdmin) -> dict[str, frozenset[Acl]]:
    (data,) = await admin.run({"command": "listRoles", "verbose": True, "count": -1})
    return {
        role["rolename"]: frozenset(
            Acl(acl["acltype"], acl["topic"], bool(acl.get("allow", True)))
            for acl in role.get("acls", [])
        )
        for role in data.get("roles", [])
    }


async def ensure_role(
    admin: DynsecAdmin, role: str, acls: tuple[Acl, ...], existing: dict[str, frozenset[Acl]]
) -> bool:
    """Create the role or add its missing ACLs; True when anything changed.

    Only missing entries are added: editing a role disconnects every client holding it.
    `existing` is updated, so accounts sharing a role (handler slots) do not add them twice.
    """
    if role not in existing:
        await admin.run(*_role_commands(role, acls))
        existing[role] = frozenset(acls)
        return True
    missing = missing_acls(role, acls, existing)
    if missing:
        await admin.run(
            *({"command": "addRoleACL", "rolename": role, **acl.as_json()} for acl in missing)
        )
        existing[role] = existing[role] | frozenset(missing)
    return bool(missing)


async def ensure_service_account(
    admin: DynsecAdmin,
    account: Account,
    clients: dict[str, BrokerClient],
    roles: dict[str, frozenset[Acl]],
) -> bool:
    """Create a service account that is missing, bound to its own name as client id; give an
    existing one what it lacks. Never resets a password; True when anything changed."""
    changed = await ensure_role(admin, account.role, account.acls, roles)
    current = clients.get(account.username)
    if current is None:
        await admin.run(
            {
                "command": "createClient",
                "username": account.username,
                "clientid": account.username,
                "password": account.password,
                "roles": [{"rolename": account.role, "priority": 0}],
            }
        )
        return True
    commands: list[Command] = []
    if account.role not in current.roles:
        commands.append(
            {"command": "addClientRole", "username": account.username, "rolename": account.role}
        )
    if not current.bound:
        commands.append(_bind(account.username))
    if commands:
        # Each change disconnects the account's connection once.
        await admin.run(*commands)
    return changed or bool(commands)


def _bind(username: str) -> Command:
    return {"command": "setClientId", "username": username, "clientid": username}


async def bind_to_own_name(admin: DynsecAdmin, username: str) -> None:
    """From now on the account may connect with its own username as client id only."""
    await admin.run(_bind(username))


def missing_acls(
    role: str, acls: tuple[Acl, ...], existing: dict[str, frozenset[Acl]]
) -> list[Acl]:
    have = existing.get(role, frozenset())
    return [acl for acl in acls if acl not in have]


async def repair_own_account(
    admin: DynsecAdmin,
    account: Account,
    current: BrokerClient | None,
    existing: dict[str, frozenset[Acl]],
) -> bool:
    """Add what the admin's own role lacks and bind its client id; the broker then disconnects
    this admin session, so this is the last thing a session does."""
    commands: list[Command] = [
        {"command": "addRoleACL", "rolename": account.role, **acl.as_json()}
        for acl in missing_acls(account.role, account.acls, existing)
    ]
    if current is not None and not current.bound:
        commands.append(_bind(account.username))
    if commands:
        await admin.run_last(*commands)
    return bool(commands)
