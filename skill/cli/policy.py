"""``askfirst policy check FILE``: validate a policy file before a server loads it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from askfirst.policy.config import load_policy
from askfirst.policy.errors import PolicyError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``policy check`` to the ``askfirst`` command line."""
    parser = subparsers.add_parser(
        "policy",
        help="check a policy file (catalog, caps, locales)",
        description="Work with policy files.",
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
    out.write(f"{args.file}: valid policy {policy.hash[:12]}\n")
    out.write(f"  locales: {', '.join(policy.locales)}\n")
    out.write(
        f"  caps: {policy.caps.per_session} per session, "
        f"{policy.caps.per_user_per_day} per user per day\n"
    )
    out.write(f"  catalog: {len(policy.catalog)} entries\n")
    for entry in policy.catalog:
        out.write(f"    {entry.id:<24} {entry.kind.value:<17} {entry.title}\n")
    return 0
