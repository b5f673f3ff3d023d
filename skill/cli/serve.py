"""``askfirst serve``: run the web app (gunicorn by default, Flask's server with ``--dev``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from askfirst.policy.errors import PolicyError
from askfirst.turn.errors import TurnError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the Alexa endpoint and the device API",
        description=(
            "Serve POST /alexa and the device API. Settings come from ASKFIRST_* environment "
            "variables and an optional TOML file (--settings)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="worker processes, each loading the models once (default: cores, at most 4)",
    )
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per worker process (default 8)"
    )
    parser.add_argument(
        "--dev",
        action="store_true",
        help="use the Flask development server (single process; never in production)",
    )
    parser.add_argument("--settings", type=Path, metavar="FILE", help="a TOML settings file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from askfirst.skill.api.serve import ServeOptions, serve, serve_dev

    for name in ("port", "workers", "threads"):
        value = getattr(args, name)
        low = 0 if name == "port" else 1
        if not low <= value <= (65535 if name == "port" else 256):
            sys.stderr.write(f"askfirst serve: --{name}: expected a value in range, got {value}\n")
            return 2
    options = ServeOptions(
        host=args.host,
        port=args.port,
        workers=args.workers,
        threads=args.threads,
        settings_file=args.settings,
        log_level=str(getattr(args, "log_level", "WARNING")).lower(),
        log_format="json" if getattr(args, "log_format", "text") == "json" else "text",
    )
    try:
        if args.dev:
            serve_dev(options)
        else:
            serve(options)
    except (TurnError, PolicyError) as exc:
        sys.stderr.write(f"askfirst serve: {exc}\n")
        return 2
    return 0
