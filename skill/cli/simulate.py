"""``askfirst simulate FILE``: play a scenario through the pipeline and show what was decided."""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from askfirst.core.errors import CoreError
from askfirst.policy.config import load_policy
from askfirst.policy.errors import PolicyError
from askfirst.policy.values import CatalogEntry
from askfirst.skill.settings import load_settings
from askfirst.skill.simulator.runner import Backend, Report, simulate
from askfirst.skill.simulator.scenario import ScenarioError, load_scenario, parse_start, schema
from askfirst.skill.simulator.timeline import Style, json_lines, summary, timeline
from askfirst.store.errors import StoreError
from askfirst.store.keys import new_audit_key, read_audit_key
from askfirst.turn.errors import TurnError

logger = logging.getLogger(__name__)

PROGRESS_MIN_EVENTS = 200
"""Batch runs at least this long show a progress bar (on a terminal only)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``simulate`` to the ``askfirst`` command line."""
    parser = subparsers.add_parser(
        "simulate",
        help="play a scenario of household utterances through the pipeline",
        description=(
            "Play a scenario (YAML, or JSON Lines with one event per line) through the same "
            "pipeline as the server and show, for every event, what was heard, how it was "
            "tagged, the question, the decision with its deciding rule, and any offer."
        ),
        epilog="exit status: 0 every expect held, 1 an expect failed, 2 unusable scenario file",
    )
    parser.add_argument("file", nargs="?", type=Path, help="scenario file (.yaml or .jsonl)")
    parser.add_argument("--json", action="store_true", help="one JSON object per event")
    parser.add_argument(
        "--jsonl", action="store_true", help="read FILE as JSON Lines (default: by .jsonl suffix)"
    )
    parser.add_argument("--url", help="run against a server's device API instead of in-process")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="[DEVICE=]TOKEN",
        help="bearer token for --url; repeat as DEVICE=TOKEN for several devices",
    )
    parser.add_argument(
        "--same-users",
        action="store_true",
        help="with --url: send the scenario's user and session ids as they are (default: "
        "prefixed with a fresh run id, printed, so a second run starts with fresh caps)",
    )
    parser.add_argument(
        "--store", metavar="URL", help="store URL (default: a fresh SQLite file per run)"
    )
    parser.add_argument("--policy", type=Path, help="policy file (overrides the scenario's)")
    parser.add_argument(
        "--start",
        metavar="DATE",
        help="when 'at: 0' is: YYYY-MM-DD (midnight UTC) or an ISO time with its offset "
        "(overrides the scenario's 'start'; default 01:00 UTC today). In-process only: a "
        "server over --url runs on its own clock",
    )
    parser.add_argument(
        "--checkpoints",
        type=Path,
        metavar="DIR",
        help="add keyed audit checkpoints to DIR (every --checkpoint-every records and at the "
        "end of the run); use with --store to keep the log. Needs --key-file",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        metavar="FILE",
        help="the audit key (made with 'askfirst audit new-key FILE'; created here when it does "
        "not exist yet); every record gets its MAC",
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=1000,
        metavar="N",
        help="records between checkpoints (default 1000)",
    )
    parser.add_argument("--settings", type=Path, help="settings TOML file")
    parser.add_argument("--verbose", "-v", action="store_true", help="show every rule's verdict")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the summary")
    parser.add_argument(
        "--color", choices=("auto", "always", "never"), default="auto", help="colour output"
    )
    parser.add_argument(
        "--schema", action="store_true", help="print the scenario JSON Schema and exit"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``simulate`` with parsed arguments; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    if args.schema:
        out.write(json.dumps(schema(), indent=2, sort_keys=True) + "\n")
        return 0
    if args.file is None:
        err.write("askfirst simulate: expected a scenario FILE (or --schema), got none\n")
        return 2
    try:
        report = _simulate(args, err)
    except (TurnError, PolicyError, CoreError, StoreError) as exc:
        message = str(exc)
        if not message.startswith(str(args.file)):
            message = f"{args.file}: {message}"
        err.write(f"askfirst simulate: {message}\n")
        return 2
    except Exception as exc:  # a bug, not a failed expectation: exit 2, traceback on DEBUG
        logger.debug("askfirst simulate: unexpected error on %s", args.file, exc_info=True)
        first = str(exc).splitlines()[0] if str(exc) else ""
        err.write(
            f"askfirst simulate: {args.file}: unexpected {type(exc).__name__}: {first!r} "
            "(a bug; run with --log-level DEBUG for the traceback)\n"
        )
        return 2
    if args.json:
        for line in json_lines(report):
            out.write(line + "\n")
    else:
        colour = args.color == "always" or (args.color == "auto" and out.isatty())
        style = Style(enabled=colour)
        lines = (
            summary(report, style=style)
            if args.quiet
            else timeline(report, style=style, verbose=args.verbose)
        )
        for line in lines:
            out.write(line + "\n")
    if not report.ok and args.json:
        for failure in report.failures:
            err.write(f"expectation failed: {failure}\n")
    return 0 if report.ok else 1


def _audit_key(path: Path | None, *, needed: bool) -> bytes | None:
    """The audit key of ``--key-file`` (created when missing: a rehearsal's own key); with
    --checkpoints and no --key-file, a ScenarioError."""
    if path is None:
        if needed:
            raise ScenarioError(
                "--checkpoints: expected --key-file FILE (checkpoints are keyed), got none"
            )
        return None
    if not path.exists():
        new_audit_key(path)
    return read_audit_key(path)


def _simulate(args: argparse.Namespace, err: TextIO) -> Report:
    start = None if args.start is None else parse_start(args.start)
    if args.url and (start is not None or args.checkpoints is not None):
        raise ScenarioError(
            "--start and --checkpoints: expected an in-process run, got --url (a server runs "
            "on its own clock and writes its own checkpoints)"
        )
    if args.checkpoint_every < 1:
        raise ScenarioError(f"--checkpoint-every: expected N >= 1, got {args.checkpoint_every!r}")
    loaded = load_scenario(args.file, jsonl=True if args.jsonl else None)
    settings = load_settings(args.settings)
    backend: Backend
    catalog: tuple[CatalogEntry, ...] = ()
    if args.url:
        from askfirst.skill.simulator.remote import OverHttp

        run_id = None if args.same_users else f"run-{secrets.token_hex(4)}"
        backend = OverHttp.for_scenario(loaded, args.url, args.token, run_id=run_id)
        if run_id is not None:
            err.write(
                f"askfirst simulate: run id {run_id} (users and sessions are {run_id}.NAME)\n"
            )
        local = args.policy or (
            loaded.resolve(loaded.scenario.policy) if loaded.scenario.policy else None
        )
        if local is not None:  # the server's own catalog is unknown otherwise
            catalog = tuple(load_policy(local).catalog)
        start = datetime.now(UTC)  # not truncated: up to 1 s older would skip the hold
    else:
        from askfirst.skill.simulator.inprocess import InProcess

        backend = InProcess.create(
            loaded,
            settings,
            store_url=args.store,
            policy_path=args.policy,
            checkpoint_dir=args.checkpoints,
            checkpoint_every=args.checkpoint_every,
            audit_key=_audit_key(args.key_file, needed=args.checkpoints is not None),
        )
        catalog = tuple(backend.pipeline.policy.catalog)
    total = len(loaded.scenario.events)
    bar = None
    if total >= PROGRESS_MIN_EVENTS and err.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, unit="event", file=err, leave=False)
    try:
        return simulate(
            loaded,
            backend,
            start=start,
            broadcast_window_seconds=settings.broadcast_window_seconds,
            progress=None if bar is None else bar.update,
            catalog=catalog,
        )
    finally:
        if bar is not None:
            bar.close()
        backend.close()
