"""`pvcontrol <service>`: run one service, or `pvcontrol all` for the whole system in one process."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import signal
import socket
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pvcontrol import __version__
from pvcontrol.broker import BrokerAddress
from pvcontrol.device import DeviceError
from pvcontrol.embedded_broker import EmbeddedBrokerRefused, ensure_broker
from pvcontrol.metrics import serve_metrics
from pvcontrol.service import Service
from pvcontrol.supervisor import run_all
from pvcontrol.topics import Topics
from pvcontrol_app.settings import ConfigFileError, Settings, load_settings
from services.car.registry import CARS
from services.forecast.registry import FORECASTS
from services.meter.registry import METERS
from services.relay.registry import RELAYS
from services.tariff.registry import TARIFFS
from services.wallbox.registry import WALLBOXES

EXIT_BAD_CONFIG = 2
EXIT_SERVICE_DIED = 1  # a service failed: the charger was told to stop, the statuses are offline
SHUTDOWN_TIMEOUT = 4.0  # s from SIGTERM to exit, the rest of the 5 s for the interpreter
SERVICE_COMMANDS = ("meter", "wallbox", "car", "relay", "controller", "forecast", "tariff", "api")
log = logging.getLogger("pvcontrol")
DEVICE_OPTIONS = (
    ("-m", "meter", METERS),
    ("-w", "wallbox", WALLBOXES),
    ("-a", "car", CARS),
    ("-r", "relay", RELAYS),
    ("-f", "forecast", FORECASTS),
    ("-t", "tariff", TARIFFS),
)


def parser() -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--mqtt",
        metavar="URL",
        help="broker, mqtt[s]://[user@]host[:port] (the password belongs in PVC_MQTT__PASSWORD or "
        "mqtt.password_file: a URL here shows in the process list)",
    )
    shared.add_argument("-c", "--config", type=Path, metavar="FILE", help="JSON or YAML configuration")
    shared.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    shared.add_argument("--metrics-port", type=int, metavar="PORT", help="0 turns the endpoint off")
    for short, kind, registry in DEVICE_OPTIONS:
        shared.add_argument(short, f"--{kind}", metavar="TYPE", help=", ".join(registry.names()))
    shared.add_argument(
        "--hostname", default=socket.gethostname(), help="this node, for the relay's installed_on_host"
    )
    shared.add_argument("--host", help="gateway address (default 0.0.0.0)")
    shared.add_argument("--port", type=int, help="gateway port (default 8080)")
    shared.add_argument("--basehref", help="URL prefix of the UI, as in ng build --base-href (no leading /)")

    main = argparse.ArgumentParser(prog="pvcontrol", description="Charge the car from solar power.")
    main.add_argument("--version", action="version", version=f"pvcontrol {__version__}")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SERVICE_COMMANDS:
        commands.add_parser(name, parents=[shared], help=f"run the {name} service")
    commands.add_parser("all", parents=[shared], help="run every service in one process")
    commands.add_parser(
        "ha-cleanup", parents=[shared], help="remove this prefix's Home Assistant discovery documents"
    )
    return main


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Command-line options as a partial settings document (the highest-precedence source)."""
    result: dict[str, dict[str, Any]] = {}

    def put(section: str, key: str, value: Any) -> None:
        if value is not None:
            result.setdefault(section, {})[key] = value

    put("mqtt", "url", args.mqtt)
    for section in ("meter", "wallbox", "car", "relay", "forecast", "tariff"):
        put(section, "type", getattr(args, section))
    put("api", "host", args.host)
    put("api", "port", args.port)
    put("api", "basehref", args.basehref)
    if args.command in ("meter", "wallbox", "car", "relay", "controller", "forecast", "tariff"):
        put(args.command, "metrics_port", args.metrics_port)
    return result


def describe(error: ValidationError) -> str:
    """One line per bad setting, named as in the config file: `meter.host: Field required`."""
    lines = []
    for e in error.errors():
        loc = [str(p) for p in e["loc"]]
        lines.append(f"invalid setting {'.'.join(loc)}: {e['msg']}")
    return "; ".join(lines)


def build(
    name: str,
    settings: Settings,
    broker: BrokerAddress,
    topics: Topics,
    hostname: str,
    config_file: Path | None = None,
) -> Service:
    # Imported here so that one service's process loads only its own adapters.
    if name == "meter":
        from services.meter.factory import create_meter
        from services.meter.service import MeterService

        return MeterService(settings.meter, create_meter(settings.meter), broker, topics)
    if name == "wallbox":
        from services.wallbox.factory import create_wallbox
        from services.wallbox.service import WallboxService

        return WallboxService(settings.wallbox, create_wallbox(settings.wallbox), broker, topics)
    if name == "car":
        from services.car.factory import create_car
        from services.car.service import CarService

        return CarService(settings.car, create_car(settings.car), broker, topics)
    if name == "relay":
        from services.relay.factory import create_relay
        from services.relay.service import RelayService

        return RelayService(settings.relay, create_relay(settings.relay, hostname), broker, topics)
    if name == "controller":
        from services.controller.service import ControllerService

        return ControllerService(settings.controller, broker, topics)
    if name == "forecast":
        from services.forecast.service import ForecastService

        return ForecastService(settings.forecast, FORECASTS.create(settings.forecast), broker, topics)
    if name == "tariff":
        from services.tariff.service import TariffService

        # unset fixed prices are the history's, so a Fixed tariff changes nothing for existing users
        tariff = settings.tariff.with_defaults(settings.history.grid_price, settings.history.feed_in_tariff)
        return TariffService(tariff, TARIFFS.create(tariff), broker, topics)
    from services.api.service import ApiService

    # the history file lives beside the config file unless told otherwise
    data_dir = settings.history.data_dir or (config_file.parent if config_file else Path.cwd())
    return ApiService(
        settings.api, broker, topics, settings.history.model_copy(update={"data_dir": data_dir})
    )


def metrics_port(name: str, settings: Settings) -> int:
    if name == "api":
        return 0  # the gateway serves /metrics on its HTTP port
    section = getattr(settings, name)
    port: int = section.metrics_port
    return port


async def run(services: Sequence[Service], settings: Settings, broker: BrokerAddress) -> list[str]:
    """Run the services until a signal (or until one dies); the names of those that died."""
    if len(services) == 1:
        serve_metrics(metrics_port(services[0].name, settings), services[0].log)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.set_exception_handler(_ignore_closed_socket_callbacks)

    async with contextlib.AsyncExitStack() as stack:
        if len(services) > 1 and settings.mqtt.embedded_broker:
            await ensure_broker(stack, broker)
        running = asyncio.ensure_future(run_all(services, stop, broker))
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        failed: list[str] = []
        try:
            # A stop must end the process in time (CONTRACT: within 5 s) even if a publish hangs.
            failed = await asyncio.wait_for(asyncio.shield(running), SHUTDOWN_TIMEOUT)
        except TimeoutError:
            log.warning("shutdown took longer than %.0f s; cancelled what was left", SHUTDOWN_TIMEOUT)
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    if failed:
        log.error("stopped because %s died; exiting with %d", ", ".join(failed), EXIT_SERVICE_DIED)
    else:
        log.info("stopped")
    return failed


def _ignore_closed_socket_callbacks(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The MQTT library registers a socket's writer through call_soon; when a failed connection has
    closed the socket meanwhile, that callback fails with EBADF. Harmless: one debug line, not a
    traceback per attempt. Everything else goes to asyncio's default handler."""
    error = context.get("exception")
    if (
        isinstance(error, OSError)
        and error.errno == errno.EBADF
        and "add_writer" in str(context.get("handle"))
    ):
        log.debug("socket closed before its writer was registered: %s", error)
        return
    loop.default_exception_handler(context)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for chatty in ("amqtt", "transitions"):  # the embedded broker's state machine logs every step
        logging.getLogger(chatty).setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config, overrides(args))
    except ConfigFileError as e:
        print(f"pvcontrol: {e}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    except ValidationError as e:
        print(f"pvcontrol: {describe(e)}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    names = SERVICE_COMMANDS if args.command == "all" else (args.command,)
    try:
        broker = BrokerAddress.from_settings(settings.mqtt)
        broker.ssl_context()  # a bad certificate or key stops the program here, not at every reconnect
    except (OSError, ssl.SSLError) as e:
        print(f"pvcontrol: cannot use the MQTT TLS or password files: {e}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    topics = Topics(settings.mqtt.prefix)
    if args.command == "ha-cleanup":
        from pvcontrol_app import ha_cleanup

        return ha_cleanup.run(broker, topics)
    try:
        services = [build(name, settings, broker, topics, args.hostname, args.config) for name in names]
    except (DeviceError, NotImplementedError, ImportError) as e:
        print(f"pvcontrol: cannot set up the {args.command} service: {e}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        failed = asyncio.run(run(services, settings, broker))
    except EmbeddedBrokerRefused as e:
        print(f"pvcontrol: {e}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    return EXIT_SERVICE_DIED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
