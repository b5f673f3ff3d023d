"""The ``askfirst`` command line: one parser; each module that owns a subcommand registers it."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from askfirst.skill.logs import configure_logging

logger = logging.getLogger(__name__)

SUBCOMMAND_MODULES = (
    "askfirst.skill.cli.serve",
    "askfirst.skill.cli.simulate",
    "askfirst.skill.cli.model",
    "askfirst.skill.cli.audit",
    "askfirst.skill.cli.policy",
    "askfirst.skill.cli.media",
    "askfirst.skill.cli.skill",
    "askfirst.skill.cli.wyoming",
)
"""Each module has ``register(subparsers)``; its subcommands set ``func(args) -> int``."""

EPILOG = """\
exit status:
  0  ok
  1  an expectation or check failed (simulate expect, audit verify)
  2  unusable input (bad arguments, unreadable or invalid file, unreachable server)

Start with:  askfirst simulate examples/scenarios/showcase.yaml
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``askfirst`` parser with every subcommand that could be imported."""
    parser = argparse.ArgumentParser(
        prog="askfirst",
        description=(
            "Privacy-respecting voice commerce: an offer only as the answer to an explicit "
            "question, never from overheard speech."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="log level on stderr (default WARNING)",
    )
    parser.add_argument(
        "--log-format",
        default="text",
        choices=("text", "json"),
        help="log lines as text, or as one JSON object per line with the request and decision "
        "ids (never a transcript); default text",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            # One broken or missing subcommand must not take the others down.
            logger.warning("askfirst: %s is unavailable: %s", name, exc)
            _unavailable(subparsers, name, exc)
            continue
        module.register(subparsers)
    return parser


def _unavailable(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], module: str, exc: Exception
) -> None:
    command = module.rpartition(".")[2]
    reason = f"{type(exc).__name__}: {exc}"
    parser = subparsers.add_parser(command, help=f"(unavailable: {reason})")
    parser.add_argument("rest", nargs=argparse.REMAINDER)

    def fail(_args: argparse.Namespace) -> int:
        sys.stderr.write(f"askfirst {command}: unavailable in this install: {reason}\n")
        return 2

    parser.set_defaults(func=fail)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``askfirst``; returns the exit status (see the epilog of ``--help``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits for --help (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else 2
    configure_logging(args.log_level, args.log_format)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        result = func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`askfirst simulate --json | head`): stop quietly, as Unix tools
        # do; point stdout at /dev/null so the interpreter's own flush at exit cannot fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return int(result)


if __name__ == "__main__":
    sys.exit(main())
