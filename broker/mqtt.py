"""The aiomqtt client of the server side (the API's live monitor, the broker admin); the handler
service has its own link, broker.link."""

from __future__ import annotations

import socket
import ssl

import aiomqtt

from broker.address import BrokerAddress

# Without TCP_NODELAY each QoS 1 round trip waits on Nagle's algorithm (40-80 ms).
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


def client(
    address: BrokerAddress,
    *,
    username: str,
    password: str,
    identifier: str | None = None,
    keepalive: int = 30,
    timeout: float = 10.0,
    max_queued_incoming: int | None = None,
) -> aiomqtt.Client:
    """A new MQTT 5 client with clean start (create one per connection attempt).

    `max_queued_incoming` bounds the messages received but not yet read; beyond it aiomqtt
    drops them (for a watcher that would rather lose messages than memory).
    """
    tls = ssl.create_default_context(cafile=str(address.ca_file)) if address.ca_file else None
    return aiomqtt.Client(
        address.host,
        address.port,
        username=username,
        password=password,
        identifier=identifier,
        protocol=aiomqtt.ProtocolVersion.V5,
        keepalive=keepalive,
        timeout=timeout,
        socket_options=NODELAY,
        tls_context=tls,
        max_queued_incoming_messages=max_queued_incoming,
    )
