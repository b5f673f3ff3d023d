"""``askfirst audit verify|checkpoint|export|report|purge``, ``user forget|export`` and
``explain``.

Each handler returns the exit status: 0 ok, 1 verification failed or not found, 2 unusable
input (bad arguments, an unreachable or unusable store).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from askfirst.skill.cli.report import FORMATS, moment, write_report
from askfirst.skill.cli.stores import (
    MissingStore,
    add_store_option,
    chosen_store,
    open_existing,
)
from askfirst.store.errors import StoreError
from askfirst.store.evidence import KINDS, TIME_BASES, EvidenceFilter
from askfirst.store.interface import Store
from askfirst.store.keys import new_audit_key, read_audit_key

DEFAULT_RETENTION_DAYS = 30.0
MAX_RETENTION_DAYS = 36500.0
"""A hundred years: longer is a typo, not a retention policy."""

Handler = Callable[[argparse.Namespace, Store, TextIO, TextIO], int]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit``, ``user`` and ``explain`` to the ``askfirst`` command line."""
    audit = subparsers.add_parser(
        "audit",
        help="verify, checkpoint, export or purge the audit log",
        description="Work with the tamper-evident audit log.",
    )
    commands = audit.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    verify = _add(
        commands,
        "verify",
        "check the hash chains (with the audit key, every record's MAC; with --checkpoints, "
        "against every checkpoint)",
        "exit status: 0 the log verifies, 1 it does not, 2 the store is unusable",
    )
    verify.set_defaults(func=_runner(run_verify, read_only=True))
    checkpoint = _add(
        commands,
        "checkpoint",
        "add a keyed checkpoint of every shard's head to --checkpoints DIR",
        "exit status: 0 written, 2 no --checkpoints or audit key, or the store is unusable",
    )
    checkpoint.set_defaults(func=_runner(run_checkpoint))
    new_key = commands.add_parser(
        "new-key",
        help="create an audit key file (32 random bytes, mode 0600; never replaces a file)",
        description="Create an audit key file, kept outside the database.",
        epilog="exit status: 0 written, 2 the file exists or cannot be written",
    )
    new_key.add_argument("key_file", type=Path, metavar="FILE")
    new_key.set_defaults(func=run_new_key)
    export = _add(
        commands,
        "export",
        "write the log as JSON Lines",
        "exit status: 0 written, 2 the store or the output is unusable",
    )
    export.add_argument("--out", type=Path, help="output file (default: standard output)")
    _filters(export)
    export.add_argument("--user", metavar="USER", help="only this user's records")
    export.add_argument("--device", metavar="DEVICE", help="only decisions heard on DEVICE")
    export.add_argument(
        "--household", metavar="HOUSEHOLD", help="only decisions heard in HOUSEHOLD"
    )
    export.add_argument(
        "--rule", metavar="RULE", help="only decisions decided by RULE (e.g. R3.opted_out)"
    )
    export.add_argument(
        "--offers-only", action="store_true", help="only decisions that permitted an offer"
    )
    export.add_argument(
        "--kind",
        action="append",
        default=[],
        choices=KINDS,
        help="only records of this kind (repeatable)",
    )
    export.set_defaults(func=_runner(run_export, read_only=True))
    report = _add(
        commands,
        "report",
        "count turns, offers, denials, consent events, erasures and policies per day",
        "exit status: 0 reported and the privacy statement holds, 1 it does not (ambient "
        "text kept, or an offer without prompted evidence), 2 unusable store or arguments",
    )
    _filters(report)
    report.add_argument(
        "--format", choices=FORMATS, default="text", help="text (default), json or csv"
    )
    report.add_argument("--out", type=Path, help="output file (default: standard output)")
    report.set_defaults(func=_runner(run_report, read_only=True))
    purge = _add(
        commands,
        "purge",
        "remove transcripts past their retention period",
        "exit status: 0 purged, 2 the store is unusable",
    )
    purge.add_argument(
        "--retention-days",
        type=retention_days,
        default=None,  # resolved when purge runs, so a bad environment cannot break the parser
        metavar="DAYS",
        help=f"purge transcripts spoken more than DAYS ago (0 < DAYS <= {MAX_RETENTION_DAYS:g}; "
        f"default ASKFIRST_RETENTION_DAYS, else {DEFAULT_RETENTION_DAYS:g})",
    )
    purge.set_defaults(func=_runner(run_purge))

    user = subparsers.add_parser(
        "user", help="erase a user's personal data", description="Work with users' personal data."
    )
    user_commands = user.add_subparsers(dest="user_command", metavar="COMMAND", required=True)
    forget = _add(
        user_commands,
        "forget",
        "erase the user's transcripts and personal data",
        "exit status: 0 erased (or nothing to erase), 2 the store is unusable",
    )
    forget.add_argument("user_id", metavar="USER", help="the user id (or device:ID)")
    forget.add_argument(
        "--reference",
        metavar="TICKET",
        help="the erasure request's reference (ticket), kept in the erasure record",
    )
    forget.add_argument(
        "--vacuum",
        action="store_true",
        help="PostgreSQL: VACUUM the tables afterwards, so the erased rows' dead versions are "
        "removed from the data files at once (SQLite zeroes them and checkpoints its WAL "
        "anyway)",
    )
    forget.set_defaults(func=_runner(run_forget))
    subject = _add(
        user_commands,
        "export",
        "write everything held about a user as JSON (a subject access request)",
        "exit status: 0 written, 2 the store or the output is unusable",
    )
    subject.add_argument("user_id", metavar="USER", help="the user id (or device:ID)")
    subject.add_argument("--out", type=Path, help="output file (default: standard output)")
    subject.set_defaults(func=_runner(run_user_export, read_only=True))

    explain = _add(
        subparsers,
        "explain",
        "say in plain words why an offer was (not) made",
        "exit status: 0 explained, 1 no such decision (or erased), 2 store unusable",
    )
    explain.add_argument("decision_id", metavar="DECISION_ID")
    explain.set_defaults(func=_runner(run_explain, read_only=True))


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--since", type=moment, metavar="TIME", help="from TIME (a date is midnight UTC)"
    )
    parser.add_argument(
        "--until", type=moment, metavar="TIME", help="before TIME (a date is midnight UTC)"
    )
    parser.add_argument(
        "--by",
        choices=TIME_BASES,
        default="recorded",
        help="the time --since/--until apply to: recorded (default; every record) or "
        "captured (decisions only: when the device heard the utterance)",
    )


def _evidence_filter(args: argparse.Namespace) -> EvidenceFilter:
    return EvidenceFilter(
        since=args.since,
        until=args.until,
        by=args.by,
        user=getattr(args, "user", None),
        device=getattr(args, "device", None),
        household=getattr(args, "household", None),
        rule=getattr(args, "rule", None),
        offers_only=getattr(args, "offers_only", False),
        kinds=tuple(getattr(args, "kind", ())),
    )


def retention_days(text: str) -> float:
    """``--retention-days``: a finite number of days above 0 and at most a century."""
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of days, got {text!r}") from None
    if not math.isfinite(days) or not 0 < days <= MAX_RETENTION_DAYS:
        raise argparse.ArgumentTypeError(
            f"expected a number of days above 0 and at most {MAX_RETENTION_DAYS:g}, got {text!r}"
        )
    return days


def _add(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str, epilog: str
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help=text, description=text[0].upper() + text[1:] + ".", epilog=epilog
    )
    add_store_option(parser)
    env_checkpoints = os.environ.get("ASKFIRST_CHECKPOINT_DIR")
    parser.add_argument(
        "--checkpoints",
        type=Path,
        default=Path(env_checkpoints) if env_checkpoints else None,
        metavar="DIR",
        help="audit checkpoint history, kept outside the database (default: "
        "ASKFIRST_CHECKPOINT_DIR)",
    )
    env_key = os.environ.get("ASKFIRST_AUDIT_KEY_FILE")
    parser.add_argument(
        "--key-file",
        type=Path,
        default=Path(env_key) if env_key else None,
        metavar="FILE",
        help="the audit key, kept outside the database (default: ASKFIRST_AUDIT_KEY_FILE)",
    )
    return parser


def _runner(handler: Handler, *, read_only: bool = False) -> Callable[[argparse.Namespace], int]:
    """Run ``handler`` on the chosen store, which must exist; ``read_only`` ones change nothing."""

    def run(args: argparse.Namespace) -> int:
        args.read_only = read_only
        return run_with_store(handler, args, sys.stdout, sys.stderr)

    return run


def run_with_store(handler: Handler, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Open the store named by ``--store``, run ``handler``, close; store errors exit 2."""
    name = f"askfirst {args.command}"
    days = DEFAULT_RETENTION_DAYS
    if hasattr(args, "retention_days"):
        if args.retention_days is None:
            env = os.environ.get("ASKFIRST_RETENTION_DAYS")
            try:
                args.retention_days = DEFAULT_RETENTION_DAYS if env is None else retention_days(env)
            except argparse.ArgumentTypeError as exc:
                err.write(f"{name}: ASKFIRST_RETENTION_DAYS: {exc}\n")
                return 2
        days = args.retention_days
    retention = timedelta(days=days)
    choice = chosen_store(args)
    try:
        key = None if args.key_file is None else read_audit_key(args.key_file)
        store = open_existing(
            choice,
            read_only=getattr(args, "read_only", False),
            audit_key=key,
            retention=retention,
        )
    except MissingStore as exc:
        err.write(f"{name}: {exc}\n")
        return 2
    except StoreError as exc:
        err.write(f"{name}: cannot open the store {choice.url!r} (from {choice.source}): {exc}\n")
        return 2
    try:
        return handler(args, store, out, err)
    except StoreError as exc:
        err.write(f"{name}: {exc}\n")
        return 2
    finally:
        store.close()


def run_verify(args: argparse.Namespace, store: Store, out: TextIO, err: TextIO) -> int:
    report = store.audit_verify(args.checkpoints)
    against = (
        f" against {report.checkpoints} checkpoints in {str(args.checkpoints)!r}"
        if args.checkpoints
        else ""
    )
    if report.ok:
        keyed = "every record's MAC checked" if report.keyed else "no audit key: MACs not checked"
        out.write(
            f"audit log OK{against}: {report.count} records in {len(report.heads)} shards, "
            f"{keyed}, head {report.head}\n"
        )
        return 0
    err.write(f"audit log FAILED verification{against}: {report.count} records read\n")
    for problem in report.problems:
        err.write(f"  {problem}\n")
    return 1


def run_checkpoint(args: argparse.Namespace, store: Store, out: TextIO, err: TextIO) -> int:
    if args.checkpoints is None:
        err.write(
            "askfirst audit checkpoint: expected --checkpoints DIR (or "
            "ASKFIRST_CHECKPOINT_DIR), got neither\n"
        )
        return 2
    cp = store.audit_checkpoint(args.checkpoints)
    out.write(f"checkpoint added to {str(args.checkpoints)!r}: {cp.count} records\n")
    return 0


def run_new_key(args: argparse.Namespace) -> int:
    try:
        new_audit_key(args.key_file)
    except StoreError as exc:
        sys.stderr.write(f"askfirst audit new-key: {exc}\n")
        return 2
    sys.stdout.write(
        f"audit key written to {str(args.key_file)!r}; keep it outside the database and pass it "
        "as --key-file or ASKFIRST_AUDIT_KEY_FILE\n"
    )
    return 0


def run_export(args: argparse.Namespace, store: Store, out: TextIO, err: TextIO) -> int:
    where = _evidence_filter(args)
    if args.out is None:
        count = store.evidence_export(out, where)
    else:
        try:
            with args.out.open("w", encoding="utf-8") as f:
                count = store.evidence_export(f, where)
        except OSError as exc:
            err.write(f"askfirst audit export: cannot write {str(args.out)!r}: {exc}\n")
            return 2
    err.write(f"exported {count} records\n")
    return 0


def run_report(args: argparse.Namespace, store: Store, out: TextIO, err: TextIO) -> int:
    report = store.audit_report(_evidence_filter(args))
    if args.out is None:
        write_report(report, out, args.format)
    else:
        try:
            with args.out.open("w", encoding="utf-8") as f:
                write_report(report, f, args.format)
        except OSError as exc:
            err.write(f"askfirst audit report: cannot write {str(args.out)!r}: {exc}\n")
            return 2
    if not report.clean:
        err.write(f"askfirst audit report: {report.privacy_statement()}\n")
        return 1
    return 0


def run_user_export(args: argparse.Namespace, store: Store, out: TextIO, err: TextIO) -> int:
    held = store.subject_access(args.user_id, now=datetime.now(UTC))
    text = json.dumps(held, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if args.out is None:
        out.write(text)
    else:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            err.write(f"askfirst user export: cannot write {str(args.out)!r}: {exc}\n")
            return 2
    counts = held["counts"]
    err.write(
        f"exported user {args.user_id!r}: {counts['decisions']} decisions, "
        f"{counts['transcripts_with_text']} retained transcripts, {counts['declined']} "
        f"declines, {counts['consent_records']} consent records\n"
    )
    return 0


def run_purge(args: argparse.Namespace, store: Store, out: TextIO, err: TextIO) -> int:
    purged = store.purge_expired(datetime.now(UTC), timedelta(days=args.retention_days))
    out.write(f"purged {purged} transcripts older than {args.retention_days:g} days\n")
    return 0


def run_forget(args: argparse.Namespace, store: Store, out: TextIO, err: TextIO) -> int:
    removed = store.forget_user(args.user_id, reference=args.reference, vacuum=args.vacuum)
    out.write(f"forgot user {args.user_id!r}: {removed} rows removed or erased\n")
    return 0


def run_explain(args: argparse.Namespace, store: Store, out: TextIO, err: TextIO) -> int:
    from askfirst.policy.explain import explain  # written alongside; imported when needed

    decision = store.get_decision(args.decision_id)
    if decision is None:
        err.write(
            f"askfirst explain: expected a logged decision id, got {args.decision_id!r} "
            "(unknown, or erased by 'user forget')\n"
        )
        return 1
    out.write(explain(decision) + "\n")
    evidence = store.decision_evidence(args.decision_id)
    if evidence is not None:
        out.write(asked_line(evidence) + "\n")
    return 0


def asked_line(evidence: dict[str, Any]) -> str:
    """How the question arrived, from a decision's evidence line."""
    where = f"heard on {evidence['device_id']!r}"
    if evidence.get("household"):
        where += f" in household {evidence['household']!r}"
    when = f"captured {evidence['captured_at']}, recorded {evidence['recorded_at']}"
    asked = evidence.get("asked")
    if asked is None:
        tag = evidence.get("tag") or "erased"
        return f"The utterance was {tag}: no question as asked is kept ({where}; {when})."
    parts = []
    if asked.get("intent"):
        slots = ", ".join(f"{k}={v!r}" for k, v in sorted(asked["slots"].items()))
        parts.append(f"Alexa intent {asked['intent']}" + (f" with {slots}" if slots else ""))
    if asked.get("transcript_retained"):
        parts.append(f"transcript {asked['transcript']!r}")
    elif not asked.get("intent"):
        parts.append("transcript no longer retained")
    return f"Asked: {'; '.join(parts)} ({where}; {when})."
