"""``askfirst policy check FILE``, ``policy show HASH`` and ``policy diff A B``.

``check`` validates a policy file before a server loads it; ``show`` prints a policy the store
kept (the canonical text of the first decision made under it); ``diff`` compares two policies
given as files or as hashes of kept policies.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from askfirst.policy.config import Policy, dump_policy, load_policy, policy_from_canonical
from askfirst.policy.diff import diff_policies
from askfirst.policy.errors import PolicyError
from askfirst.skill.cli.stores import (
    MissingStore,
    StoreChoice,
    add_store_option,
    chosen_store,
    open_existing,
)
from askfirst.store.errors import StoreError
from askfirst.store.interface import Store


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy check|show|diff`` to the ``askfirst`` command line."""
    parser = subparsers.add_parser(
        "policy",
        help="check, show or compare policies (catalog, caps, locales)",
        description="Work with policy files and the policies decisions were made under.",
    )
    commands = parser.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    check = commands.add_parser(
        "check",
        help="validate a policy file and print what it contains",
        description="Validate a policy file; print its catalog, caps and content hash.",
        epilog=(
            "exit status: 0 valid, 2 unreadable or invalid (the message names file, field "
            "and problem)"
        ),
    )
    check.add_argument("file", type=Path, help="the policy TOML file")
    check.set_defaults(func=run_check)
    show = commands.add_parser(
        "show",
        help="print a policy decisions were made under, by its hash",
        description="Print the policy the store kept under HASH (as TOML, or --json: the "
        "canonical text whose SHA-256 is the hash), with its first and last decision.",
        epilog="exit status: 0 shown, 1 no such policy kept, 2 bad hash or unusable store",
    )
    show.add_argument("hash", metavar="HASH", help="the full hash (or a unique 12+ digit prefix)")
    show.add_argument("--json", action="store_true", help="the canonical JSON text only")
    _store_option(show)
    show.set_defaults(func=run_show)
    diff = commands.add_parser(
        "diff",
        help="what changed between two policies (files or hashes)",
        description="List every change from A to B: catalog entries, synonyms, pitches, "
        "disclosures, caps, locales, obligations. A and B are policy files or hashes of "
        "policies the store kept.",
        epilog="exit status: 0 the same, 1 they differ, 2 unreadable file, unknown hash or "
        "unusable store",
    )
    diff.add_argument("a", metavar="A", help="a policy file or a kept policy's hash")
    diff.add_argument("b", metavar="B", help="a policy file or a kept policy's hash")
    _store_option(diff)
    diff.set_defaults(func=run_diff)


def _store_option(parser: argparse.ArgumentParser) -> None:
    add_store_option(parser)


def run_check(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Load the policy; report it (0) or say exactly what is wrong (2: unusable input)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        err.write(f"askfirst policy check: {exc}\n")
        return 2
    out.write(f"{args.file}: valid policy {policy.hash}\n")
    out.write(f"  locales: {', '.join(policy.locales)}\n")
    out.write(
        f"  caps: {policy.caps.per_session} per session, "
        f"{policy.caps.per_user_per_day} per user per day\n"
    )
    out.write(f"  catalog: {len(policy.catalog)} entries\n")
    for entry in policy.catalog:
        out.write(f"    {entry.id:<24} {entry.kind.value:<17} {entry.title}\n")
    return 0


def run_show(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print a kept policy (0), or say it is not kept (1) or what is unusable (2)."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with _Stores(chosen_store(args)) as stores:
            kept = stores.get().policy_text(args.hash)
            if kept is None:
                err.write(
                    f"askfirst policy show: expected the hash of a policy a decision was made "
                    f"under, got {args.hash!r} (known: {', '.join(stores.get().policy_hashes())})\n"
                )
                return 1
            policy = policy_from_canonical(kept.text, source=f"policy {kept.hash}")
    except (StoreError, PolicyError, MissingStore) as exc:
        err.write(f"askfirst policy show: {exc}\n")
        return 2
    if args.json:
        out.write(kept.text + "\n")
        return 0
    out.write(f"# policy {kept.hash}\n")
    out.write(f"# first decision {kept.first_decision_id} at {kept.first_at}\n")
    out.write(f"# {kept.decisions} decisions, the last at {kept.last_at}\n")
    out.write(dump_policy(policy))
    return 0


def run_diff(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print every change from A to B; 0 the same, 1 different, 2 unusable input."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        with _Stores(chosen_store(args)) as stores:
            a = _resolve(args.a, stores)
            b = _resolve(args.b, stores)
    except (StoreError, PolicyError, MissingStore) as exc:
        err.write(f"askfirst policy diff: {exc}\n")
        return 2
    out.write(f"--- {_label(args.a, a)}\n+++ {_label(args.b, b)}\n")
    changes = diff_policies(a, b)
    for change in changes:
        out.write(change.line() + "\n")
    if not changes:
        out.write("no changes\n")
    return 1 if changes else 0


def _label(name: str, policy: Policy) -> str:
    """``HASH (FILE)`` for a file, the full hash for a kept policy."""
    return policy.hash if policy.hash.startswith(name.lower()) else f"{policy.hash} ({name})"


def _resolve(name: str, stores: _Stores) -> Policy:
    """A policy file when ``name`` is one, else the kept policy with that hash."""
    if Path(name).is_file():
        return load_policy(Path(name))
    kept = stores.get().policy_text(name)
    if kept is None:
        raise PolicyError(
            f"expected a policy file or the hash of a kept policy, got {name!r} (no such file; "
            f"kept: {', '.join(stores.get().policy_hashes()) or 'none'})"
        )
    return policy_from_canonical(kept.text, source=f"policy {kept.hash}")


class _Stores:
    """Opens the store only when a hash needs it; closes it on leaving."""

    def __init__(self, choice: StoreChoice) -> None:
        self._choice = choice
        self._store: Store | None = None

    def get(self) -> Store:
        if self._store is None:
            self._store = open_existing(self._choice, read_only=True)
        return self._store

    def __enter__(self) -> _Stores:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._store is not None:
            self._store.close()
