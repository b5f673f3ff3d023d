"""``askfirst skill model``: regenerate (or check) the Alexa interaction model from the catalog."""

from __future__ import annotations

import argparse
import difflib
import shlex
import sys
from pathlib import Path
from typing import TextIO

from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.policy.errors import PolicyError
from askfirst.skill.alexa.interaction_model import (
    DEFAULT_INVOCATION_NAME,
    build_interaction_model,
    model_path,
    render_json,
    write_skill_package,
)
from askfirst.turn.errors import TurnError

DEFAULT_OUT = Path("skill-package")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``skill model`` to the ``askfirst`` command line."""
    parser = subparsers.add_parser(
        "skill",
        help="Alexa skill package (interaction model from the policy catalog)",
        description="Work with the Alexa skill package in the ASK CLI project layout.",
    )
    commands = parser.add_subparsers(dest="skill_command", metavar="COMMAND", required=True)
    model = commands.add_parser(
        "model",
        help="write the en-US interaction model from the policy catalog",
        description=(
            "Write DIR/interactionModels/custom/en-US.json from the policy's catalog "
            "(and DIR/skill.json when it is absent), ready for `ask deploy`."
        ),
        epilog="exit status: 0 written or up to date, 1 out of date (--check), 2 unusable input",
    )
    model.add_argument(
        "--policy",
        type=Path,
        default=EXAMPLE_POLICY_PATH,
        help="policy TOML file (default: the bundled example policy)",
    )
    model.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"skill package directory (default: {DEFAULT_OUT})",
    )
    model.add_argument(
        "--invocation-name",
        default=DEFAULT_INVOCATION_NAME,
        help=f"the skill's invocation name (default: {DEFAULT_INVOCATION_NAME!r})",
    )
    model.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the committed model differs from the catalog",
    )
    model.set_defaults(func=run_model)


def _regenerate(args: argparse.Namespace) -> str:
    """The command that rewrites the model with the options this check was given."""
    words = ["askfirst", "skill", "model"]
    if Path(args.policy) != EXAMPLE_POLICY_PATH:
        words += ["--policy", str(args.policy)]
    if Path(args.out) != DEFAULT_OUT:
        words += ["--out", str(args.out)]
    if args.invocation_name != DEFAULT_INVOCATION_NAME:
        words += ["--invocation-name", args.invocation_name]
    return shlex.join(words)


def run_model(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Write the skill package, or with ``--check`` compare it to what the catalog gives."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        policy = load_policy(args.policy)
        if not args.check:
            for path in write_skill_package(policy, args.out, invocation_name=args.invocation_name):
                out.write(f"wrote {path}\n")
            return 0
        expected = render_json(
            build_interaction_model(policy, invocation_name=args.invocation_name)
        )
    except (PolicyError, TurnError) as exc:
        err.write(f"askfirst skill model: {exc}\n")
        return 2
    path = model_path(args.out)
    try:
        actual = path.read_text(encoding="utf-8")
    except OSError as exc:
        err.write(f"askfirst skill model --check: cannot read {path}: {exc.strerror}\n")
        return 1
    if actual == expected:
        out.write(f"{path}: up to date with {args.policy}\n")
        return 0
    diff = difflib.unified_diff(
        actual.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{path} (committed)",
        tofile=f"{path} (from {args.policy})",
    )
    err.write(f"askfirst skill model --check: {path} is out of date; run `{_regenerate(args)}`\n")
    err.writelines(list(diff)[:60])
    return 1
