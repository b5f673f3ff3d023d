"""``askfirst wyoming``: serve speech-to-text and the conversation agent over Wyoming."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from askfirst.core.capture import Trigger
from askfirst.policy.errors import PolicyError
from askfirst.turn.errors import TurnError

if TYPE_CHECKING:
    from askfirst.skill.metrics.exporter import Exporter
    from askfirst.skill.wyoming.service import Service

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Serve askfirst to Home Assistant and other Wyoming voice stacks: a speech-to-text program
(the configured Vosk models, streaming transcripts) and a conversation ("handle") program
that answers product questions and consent commands, each turn decided and audited like a
device-API turn. Settings as for `askfirst serve` (ASKFIRST_* variables, --settings FILE);
who a turn belongs to when the peer does not say is `wyoming_listeners` in the settings, or
--device-id here. See README "Use with Home Assistant"."""

EPILOG = """\
example:
  ASKFIRST_VOSK_MODELS='{"ko-KR": "/models/vosk-model-small-ko-0.22"}' \\
    askfirst wyoming --uri tcp://0.0.0.0:10500 --device-id living-room --household kim \\
    --metrics-port 9500
  then in Home Assistant: Settings > Devices & services > Add integration >
  Wyoming Protocol, host = this machine, port = 10500; and Prometheus scrapes
  http://127.0.0.1:9500/metrics (turns, decisions, transcriptions, store and Wyoming
  latencies; the same counters as `askfirst serve`'s /metrics).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "wyoming",
        help="serve speech-to-text and the conversation agent to Home Assistant (Wyoming)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--uri",
        default="tcp://127.0.0.1:10500",
        help="where to listen: tcp://HOST:PORT or unix:///PATH (default tcp://127.0.0.1:10500;"
        " Wyoming has no authentication, so bind to your LAN, never the internet)",
    )
    parser.add_argument("--settings", type=Path, metavar="FILE", help="a TOML settings file")
    parser.add_argument(
        "--device-id",
        help="the device turns on this URI belong to when the peer does not say "
        "(overrides wyoming_listeners for --uri)",
    )
    parser.add_argument(
        "--household",
        help="the home the device listens in (broadcast detection compares devices of one home)",
    )
    parser.add_argument(
        "--trigger",
        choices=[t.value for t in Trigger],
        help="the trigger of turns whose peer does not say (default wake_word)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics at http://METRICS_HOST:PORT/metrics (default: none; "
        "turns and transcriptions are then only logged)",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address the metrics server listens on (default 127.0.0.1; 0.0.0.0 for a "
        "Prometheus on another machine)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from askfirst.skill.settings import WyomingListener, load_settings
    from askfirst.skill.wiring import pipeline_from_settings

    try:
        from askfirst.skill.wyoming.service import Service, listener_for
    except ImportError as exc:  # the wyoming extra is optional
        sys.stderr.write(
            f"askfirst wyoming: needs the 'wyoming' package ({exc}); "
            "install it with: pip install 'askfirst[wyoming]'\n"
        )
        return 2

    try:
        settings = load_settings(args.settings)
        listener = listener_for(args.uri, settings)
        if args.device_id or args.household or args.trigger:
            listener = WyomingListener(
                device_id=args.device_id or listener.device_id,
                household=args.household or listener.household,
                room=listener.room,
                trigger=Trigger(args.trigger) if args.trigger else listener.trigger,
                wake_word_removed=listener.wake_word_removed,
            )
        pipeline = pipeline_from_settings(settings)
    except (TurnError, PolicyError, ValueError) as exc:
        sys.stderr.write(f"askfirst wyoming: {exc}\n")
        return 2
    service = Service(pipeline=pipeline, settings=settings, listener=listener)
    exporter = None
    try:
        exporter = _observe(service, args.metrics_host, args.metrics_port)
        return asyncio.run(_serve(service, args.uri))
    except TurnError as exc:
        sys.stderr.write(f"askfirst wyoming: {exc}\n")
        return 2
    except MetricsPortError as exc:
        sys.stderr.write(f"askfirst wyoming: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"askfirst wyoming: cannot listen on {args.uri!r}: {exc}\n")
        return 2
    finally:
        if exporter is not None:
            exporter.close()
        pipeline.close()


class MetricsPortError(Exception):
    """The metrics server could not start (raised before anything listens)."""


def _observe(service: Service, host: str, port: int | None) -> Exporter | None:
    """Watch the pipeline as ``askfirst serve`` does: the decision id in the logs always, and
    with ``port`` the Prometheus counters, served at ``http://HOST:PORT/metrics``."""
    if port is None:
        from askfirst.skill.logs import DecisionIds

        service.pipeline.observer = DecisionIds()
        return None
    if not 0 <= port <= 65535:
        raise MetricsPortError(f"--metrics-port: expected 0..65535, got {port!r}")
    from askfirst.skill.metrics.exporter import start_exporter
    from askfirst.skill.metrics.observer import watch
    from askfirst.skill.metrics.registry import Metrics

    metrics = Metrics()
    observer = watch(service.pipeline, metrics)
    service.metrics = metrics
    try:
        exporter = start_exporter(
            metrics,
            observer,
            host=host,
            port=port,
            locales=lambda: service.pipeline.transcribers.locales,
        )
    except OSError as exc:
        raise MetricsPortError(
            f"--metrics-port: cannot serve metrics on {host}:{port}: {exc}"
        ) from exc
    sys.stderr.write(f"askfirst wyoming: metrics on http://{host}:{exporter.port}/metrics\n")
    return exporter


async def _serve(service: Service, uri: str) -> int:
    from askfirst.skill.wyoming.server import start

    server = await start(service, uri)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sys.stderr.write(
        f"askfirst wyoming: listening on {uri} (device {service.listener.device_id!r}, "
        f"models {list(service.asr_locales)!r})\n"
    )
    sys.stderr.flush()
    try:
        await stop.wait()
    finally:
        await server.close()
    return 0
