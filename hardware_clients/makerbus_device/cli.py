"""``makerbus-device``: act as a device from the shell, e.g. to try an operation by hand."""

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from makerbus_device.bankomat import Bankomat
from makerbus_device.cash_journal import CashJournal
from makerbus_device.checkout import CheckoutTerminal
from makerbus_device.client import DeviceClient
from makerbus_device.console import BankomatConsole, CheckoutConsole, RentalConsole
from makerbus_device.contract import DEFAULT_PREFIX
from makerbus_device.errors import DeviceError
from makerbus_device.hardware import ConsoleReader, ConsoleRelay
from makerbus_device.machine import MachineController
from makerbus_device.rental_station import RentalStation

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

_MACHINE_HELP = """\
Run the reference machine controller: type a card UID and press Enter to tap it; RELAY ON and
RELAY OFF lines show the machine's power. The first tap starts a session, the same card again
ends it. Ctrl-C, SIGTERM or the end of the input stop the controller with the relay off.
"""

_STOPS = "Ctrl-C, SIGTERM or the end of the input stop it."

_CHECKOUT_HELP = f"""\
Run the reference checkout terminal on the console, one command a line:
  scan EAN    put a product into the basket
  tap UID     tap a card: pays the basket (or greets the member when it is empty);
              an unknown card tapped twice within 20 s is registered and gets its link
  link        then tap a card: show the link that connects it to a web account
  clear       empty the basket
{_STOPS}
"""

_BANKOMAT_HELP = f"""\
Run the reference Bankomat on the console, one command a line:
  tap UID                select the member (shows the balance)
  coin CENTS, note CENTS cash taken in: a top-up of the selected member, else a donation
  transfer UID CENTS     send money to another member's card
  payout TARGET CENTS    take cash out of a cash box; then: pin DIGITS (never shown)
  history                the selected member's recent bookings
  done                   end the member's turn (also after a minute without input)
{_STOPS}
Cash the server has not booked yet is kept in the --journal file and booked (under the same
request ids) when the server is back, also after a restart.
"""

_RENTAL_HELP = f"""\
Run the reference rental station on the console, one command a line:
  tid TID     hold an item's tag to the reader: returns it if it is out, else offers it
  tap UID     tap a card within 15 s of the tid to rent the item
{_STOPS}
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


def _add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--credentials",
        metavar="FILE",
        help="a JSON file with host, port, username and password, as `makerbus device add "
        "--json` prints it; the options below override its values",
    )
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--username", help="the device slug")
    parser.add_argument(
        "--password",
        help=f"default: the credentials file, else the environment variable {CREDENTIAL_ENV}",
    )
    parser.add_argument(
        "--mqtt", type=int, choices=(5, 3), default=5, help="protocol: 5 or 3 (3.1.1)"
    )
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help="topic prefix")
    parser.add_argument("--tls-ca-file", help="CA bundle; enables TLS")
    parser.add_argument("-v", "--verbose", action="store_true", help="log MQTT traffic")


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
    _add_connection_arguments(request)
    request.add_argument("--id", dest="request_id", help="request id (default: a fresh one)")
    request.add_argument("--timeout", type=float, default=5.0, help="seconds per attempt")
    request.add_argument("--retries", type=int, default=2, help="extra attempts, same id")
    request.add_argument("op", help="operation, e.g. card/identify")
    request.add_argument("fields", nargs="*", type=parse_field, metavar="key=value")
    for name, help_text, description in (
        ("machine", "run the reference machine controller on the console", _MACHINE_HELP),
        ("checkout", "run the reference checkout terminal on the console", _CHECKOUT_HELP),
        ("bankomat", "run the reference Bankomat on the console", _BANKOMAT_HELP),
        ("rental", "run the reference rental station on the console", _RENTAL_HELP),
    ):
        program = commands.add_parser(
            name,
            help=help_text,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_connection_arguments(program)
        if name == "bankomat":
            program.add_argument(
                "--target", help="the cash box that cash is booked to (default: the first one)"
            )
            program.add_argument(
                "--journal",
                type=Path,
                help="file that keeps cash not booked yet across restarts (default: "
                "$XDG_STATE_HOME/makerbus-device/bankomat-<username>.json, "
                "else ~/.local/state/...)",
            )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    connection = _connection(parser, args)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        client = DeviceClient(
            connection.host,
            connection.port,
            connection.username,
            connection.password,
            mqtt_version=args.mqtt,
            prefix=args.prefix,
            tls_ca_file=args.tls_ca_file,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "machine":
        return _machine(client)
    if args.command == "checkout":
        return _checkout(client)
    if args.command == "bankomat":
        return _bankomat(client, args.target, args.journal or default_journal(connection.username))
    if args.command == "rental":
        return _rental(client)
    return _request(parser, args, client)


@dataclass(frozen=True)
class Connection:
    host: str
    port: int
    username: str
    password: str


def _connection(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Connection:
    """Options first, then the credentials file, then (for the password) the environment."""
    stored = _read_credentials(parser, args.credentials) if args.credentials else {}
    values = {
        "host": args.host if args.host is not None else stored.get("host"),
        "port": args.port if args.port is not None else stored.get("port"),
        "username": args.username if args.username is not None else stored.get("username"),
        "password": args.password
        if args.password is not None
        else stored.get("password", os.environ.get(CREDENTIAL_ENV)),
    }
    missing = [name for name, value in values.items() if value is None]
    if "password" in missing:
        parser.error(f"give --password, --credentials or set {CREDENTIAL_ENV}")
    if missing:
        parser.error(f"give --credentials or --{' --'.join(missing)}")
    host, port, username, password = values.values()
    if not (
        isinstance(host, str)
        and isinstance(port, int)
        and isinstance(username, str)
        and isinstance(password, str)
    ):
        parser.error(f"{args.credentials}: host, username and password are text, port a number")
    return Connection(host, port, username, password)


def _read_credentials(parser: argparse.ArgumentParser, path: str) -> dict[str, object]:
    try:
        with open(path, encoding="utf-8") as handle:
            stored = json.load(handle)
    except OSError as exc:
        parser.error(f"cannot read {path}: {exc.strerror}")
    except ValueError:
        parser.error(f"{path} is not JSON")
    if not isinstance(stored, dict):
        parser.error(f"{path}: expected a JSON object with host, port, username and password")
    return stored


def _request(
    parser: argparse.ArgumentParser, args: argparse.Namespace, client: DeviceClient
) -> int:
    fields: dict[str, object] = dict(args.fields)
    if "id" in fields:
        parser.error("set the request id with --id, not id=")
    try:
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


def _say(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def _serve(
    client: DeviceClient, run: Callable[[threading.Event], None], stop: threading.Event, hint: str
) -> int:
    """Connect and ``run(stop)`` until Ctrl-C, SIGTERM or the end of the input."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        with client:
            _say(hint)
            run(stop)
    except KeyboardInterrupt:
        pass  # each program's run() leaves its device safe on the way out
    except DeviceError as exc:
        sys.stderr.write(f"makerbus-device: {exc}\n")
        return EXIT_DEVICE_ERROR
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _machine(client: DeviceClient) -> int:
    """Run the controller until Ctrl-C, SIGTERM or the end of the input; the relay ends off."""
    stop = threading.Event()
    controller = MachineController(
        client, ConsoleReader(on_eof=stop.set), ConsoleRelay(), display=_say
    )
    return _serve(
        client, controller.run, stop, "type a card UID and press Enter to tap it; Ctrl-C stops"
    )


def _checkout(client: DeviceClient) -> int:
    stop = threading.Event()
    console = CheckoutConsole(on_eof=stop.set, complain=_say)
    terminal = CheckoutTerminal(
        client, console.scanner, console.reader, console.keypad, display=_say
    )
    return _serve(client, terminal.run, stop, f"commands: {console.input.usage}; Ctrl-C stops")


def default_journal(username: str) -> Path:
    """Where ``makerbus-device bankomat`` keeps its cash journal unless told otherwise."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "makerbus-device" / f"bankomat-{username}.json"


def _bankomat(client: DeviceClient, target: str | None, journal: Path) -> int:
    stop = threading.Event()
    console = BankomatConsole(on_eof=stop.set, complain=_say)
    bankomat = Bankomat(
        client,
        console.reader,
        console.cash,
        console.pinpad,
        console.keypad,
        display=_say,
        target=target,
        journal=CashJournal(journal),
    )
    return _serve(client, bankomat.run, stop, f"commands: {console.input.usage}; Ctrl-C stops")


def _rental(client: DeviceClient) -> int:
    stop = threading.Event()
    console = RentalConsole(on_eof=stop.set, complain=_say)
    # Typed lines are deliberate: the same TID twice is two presentations, not one tag lingering.
    station = RentalStation(client, console.tags, console.reader, display=_say, tag_quiet_s=0)
    return _serve(client, station.run, stop, f"commands: {console.input.usage}; Ctrl-C stops")
