"""``makerbus-device``: act as a device from the shell, e.g. to try an operation by hand."""

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from makerbus_device.client import DeviceClient
from makerbus_device.contract import DEFAULT_PREFIX
from makerbus_device.errors import DeviceError

CREDENTIAL_ENV = "MAKERBUS_DEVICE_PASSWORD"

EXIT_NOT_OK = 1
EXIT_DEVICE_ERROR = 3

_EPILOG = f"""\
Each key=value becomes a field of the request. A value that parses as JSON is sent as JSON
(qty=2 is a number, items='[{{"ean":"4006381333931","qty":1}}]' a list); anything else is
sent as a string (card=04A1B2C3). Quote a value to force a string: card='"12345678"'.

Prints the answer JSON on one line. Exit status: 0 if the answer says ok, {EXIT_NOT_OK} if it
carries an error, {EXIT_DEVICE_ERROR} if no answer came (unreachable, refused, timed out).
"""


def parse_field(item: str) -> tuple[str, object]:
    """Split ``key=value`` and decode the value as JSON when it is JSON."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected key=value, got {item!r}")
    try:
        value: object = json.loads(raw)
    except ValueError:
        value = raw
    return key, value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="makerbus-device", description="Talk to a makerbus server as a device."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    request = commands.add_parser(
        "request",
        help="send one request and print the answer",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    request.add_argument("--host", required=True)
    request.add_argument("--port", type=int, required=True)
    request.add_argument("--username", required=True, help="the device slug")
    request.add_argument("--password", help=f"default: the environment variable {CREDENTIAL_ENV}")
    request.add_argument(
        "--mqtt", type=int, choices=(5, 3), default=5, help="protocol: 5 or 3 (3.1.1)"
    )
    request.add_argument("--prefix", default=DEFAULT_PREFIX, help="topic prefix")
    request.add_argument("--tls-ca-file", help="CA bundle; enables TLS")
    request.add_argument("--id", dest="request_id", help="request id (default: a fresh one)")
    request.add_argument("--timeout", type=float, default=5.0, help="seconds per attempt")
    request.add_argument("--retries", type=int, default=2, help="extra attempts, same id")
    request.add_argument("-v", "--verbose", action="store_true", help="log MQTT traffic")
    request.add_argument("op", help="operation, e.g. card/identify")
    request.add_argument("fields", nargs="*", type=parse_field, metavar="key=value")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    password = args.password if args.password is not None else os.environ.get(CREDENTIAL_ENV)
    if password is None:
        parser.error(f"give --password or set {CREDENTIAL_ENV}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    fields: dict[str, object] = dict(args.fields)
    if "id" in fields:
        parser.error("set the request id with --id, not id=")
    try:
        client = DeviceClient(
            args.host,
            args.port,
            args.username,
            password,
            mqtt_version=args.mqtt,
            prefix=args.prefix,
            tls_ca_file=args.tls_ca_file,
        )
        with client:
            answer = client.request(
                args.op,
                timeout=args.timeout,
                retries=args.retries,
                request_id=args.request_id,
                **fields,
            )
    except (TypeError, ValueError) as exc:  # a bad field name or value, caught before sending
        parser.error(str(exc))
    except DeviceError as exc:
        sys.stderr.write(f"makerbus-device: {exc}\n")
        return EXIT_DEVICE_ERROR
    sys.stdout.write(json.dumps(answer.raw, ensure_ascii=False) + "\n")
    return 0 if answer.ok else EXIT_NOT_OK
