"""The console's pages: sign-in, turns, one turn, the audit log, the playground."""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO, cast
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from askfirst.policy.explain import explain
from askfirst.skill.console import auth
from askfirst.skill.console.auth import ConsoleError, Operators
from askfirst.skill.console.playground import Format, PlaygroundError, run_scenario
from askfirst.skill.settings import Settings
from askfirst.skill.simulator.scenario import ScenarioError
from askfirst.store.base import Store
from askfirst.store.chain import VerifyReport
from askfirst.store.checkpoint import read_checkpoints
from askfirst.store.errors import StoreError
from askfirst.store.keys import read_audit_key
from askfirst.store.queries import TurnFilter, parse_cursor
from askfirst.turn.pipeline import Pipeline

logger = logging.getLogger(__name__)

console = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

PAGE_SIZE = 25
EXPORT_IN_MEMORY = 4_000_000
"""An export larger than this many characters is spooled to a temporary file."""
PUBLIC = frozenset({"console.sign_in", "console.static"})
"""Endpoints a signed-out browser may reach."""
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def register(app: Flask, settings: Settings) -> None:
    """Mount the console at ``/console`` for the operators ``settings`` names."""
    auth.configure_session(app, settings.console_secret)
    app.extensions["askfirst.console"] = Operators(settings.console_tokens)
    app.extensions["askfirst.console.households"] = {
        device.device_id: device.household for device in settings.devices().values()
    }
    app.register_blueprint(console)
    logger.info(
        "console: enabled at /console for %d operator token(s)", len(settings.console_tokens)
    )


def _operators() -> Operators:
    operators: Operators = current_app.extensions["askfirst.console"]
    return operators


def _store() -> Store:
    pipeline: Pipeline = current_app.extensions["askfirst.pipeline"]
    return pipeline.store


def _settings() -> Settings:
    settings: Settings = current_app.extensions["askfirst.settings"]
    return settings


@console.before_request
def _guard() -> BaseResponse | None:
    """Signed-out requests go to sign-in (GET) or are refused (POST); every POST needs CSRF."""
    if request.method == "POST":
        auth.check_csrf()
    if request.endpoint in PUBLIC or auth.signed_in(_operators()):
        return None
    if request.method == "GET":
        return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")), 303)
    raise ConsoleError(
        "expected a signed-in operator, got no session", code="signed_out", status=401
    )


@console.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@console.errorhandler(ConsoleError)
def _refused(exc: ConsoleError) -> tuple[str, int]:
    return render_template("error.html", error=exc), exc.status


@console.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> tuple[str, int]:
    error = ConsoleError(
        f"expected a request of at most {current_app.config['MAX_CONTENT_LENGTH']} bytes, got more",
        code="body_too_large",
        status=413,
    )
    return render_template("error.html", error=error), 413


@console.context_processor
def _globals() -> dict[str, Any]:
    return {
        "csrf_token": auth.csrf_token,
        "csrf_field": auth.CSRF_FIELD,
        "household": _household,
    }


def _household(device_id: str | None) -> str | None:
    """The household a configured device listens in, when it is not a household of one."""
    households: dict[str, str] = current_app.extensions["askfirst.console.households"]
    found = households.get(device_id or "")
    return None if found is None or found == device_id else found


# -- signing in and out ---------------------------------------------------------------------


@console.route("/login", methods=["GET", "POST"])
def sign_in() -> BaseResponse | tuple[str, int]:
    target = _local(request.values.get("next", ""))
    if request.method == "GET":
        return render_template("login.html", next=target, error=None), 200
    print_ = _operators().match(request.form.get("token", ""))
    if print_ is None:
        logger.warning("console: refused a sign-in with a wrong token")
        return render_template(
            "login.html", next=target, error="That token is not an operator token."
        ), 401
    auth.sign_in(print_)
    logger.info("console: operator signed in")
    return redirect(target or url_for("console.turns"), 303)


@console.route("/logout", methods=["POST"])
def sign_out() -> BaseResponse:
    auth.sign_out()
    return redirect(url_for("console.sign_in"), 303)


def _local(target: str) -> str | None:
    """Only a path inside the console may be a sign-in's destination (no open redirect)."""
    ok = target.startswith("/console/") and not target.startswith("/console//")
    return target if ok and "\\" not in target else None


# -- turns ----------------------------------------------------------------------------------


@console.route("/")
def home() -> BaseResponse:
    return redirect(url_for("console.turns"), 303)


@console.route("/turns")
def turns() -> str:
    args = request.args
    where = _filter(args)
    before = _cursor_arg(args.get("before"))
    page = _store().recent_turns(where=where, limit=PAGE_SIZE, before=before)
    kept = {k: v for k, v in args.items() if k != "before" and v}
    older = (
        None
        if page.next_before is None
        else url_for("console.turns") + "?" + urlencode({**kept, "before": page.next_before})
    )
    newest = url_for("console.turns") + ("?" + urlencode(kept) if kept else "")
    return render_template(
        "turns.html",
        page=page,
        form=args,
        older=older,
        newest=newest,
        first=before is None,
        rules=_rules(),
    )


def _filter(args: Any) -> TurnFilter:
    offer = args.get("offer", "")
    if offer not in ("", "yes", "no"):
        raise ConsoleError(
            f"offer: expected 'yes', 'no' or nothing, got {offer!r}", code="bad_filter", status=400
        )
    tag = args.get("tag", "")
    if tag not in ("", "prompted", "ambient"):
        raise ConsoleError(
            f"tag: expected 'prompted', 'ambient' or nothing, got {tag!r}",
            code="bad_filter",
            status=400,
        )
    return TurnFilter(
        device_id=args.get("device") or None,
        user_id=args.get("user") or None,
        tag=tag or None,
        rule=args.get("rule") or None,
        offer=None if not offer else offer == "yes",
        since=_time_arg(args.get("since"), "since"),
        until=_time_arg(args.get("until"), "until", end_of_day=True),
    )


def _time_arg(value: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    """A date or date-time from a form (UTC unless it names a zone)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ConsoleError(
            f"{name}: expected a date (2026-11-29) or date-time (2026-11-29T14:05), got {value!r}",
            code="bad_filter",
            status=400,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end_of_day and len(value) == 10:
        moment += timedelta(days=1, microseconds=-1)
    return moment


def _cursor_arg(value: str | None) -> str | None:
    """The ``before`` page cursor, checked (a 400 naming what was expected)."""
    if not value:
        return None
    try:
        parse_cursor(value)
    except StoreError as exc:
        raise ConsoleError(exc.message, code="bad_filter", status=400) from exc
    return value


def _rules() -> list[str]:
    from askfirst.policy.engine import RULES

    return ["permit", *(rule.id for rule in RULES)]


@console.route("/turns/<decision_id>")
def turn(decision_id: str) -> tuple[str, int]:
    record = _store().decision_record(decision_id)
    if record is None:
        raise ConsoleError(
            f"expected the id of a recorded decision, got {decision_id!r}",
            code="unknown_decision",
            status=404,
        )
    decision = record.turn.decision
    explanation = None if decision is None else explain(decision)
    return render_template("turn.html", record=record, explanation=explanation), 200


# -- the audit log --------------------------------------------------------------------------


@console.route("/audit")
def audit() -> str:
    return render_template(
        "audit.html", summary=_store().log_summary(), checkpoint=_checkpoint(), report=None
    )


def _checkpoint() -> Any:
    """The newest checkpoint its MAC vouches for, a message saying why none can be shown, or
    None when no checkpoint history is configured."""
    settings = _settings()
    folder = settings.checkpoint_dir
    if folder is None or not folder.is_dir():
        return None
    if settings.audit_key_file is None:
        return "checkpoints are keyed: set ASKFIRST_AUDIT_KEY_FILE to read them"
    try:
        found, refused = read_checkpoints(folder, key=read_audit_key(settings.audit_key_file))
    except StoreError as exc:
        return str(exc)
    if refused:
        return refused[0]
    return max(found, key=lambda cp: cp.at, default=None)


@console.route("/audit/verify", methods=["POST"])
def verify() -> Response:
    """Verify the chain, streaming the page: a progress bar as records are checked, then the
    verdict. Each step appends a new bar; the stylesheet shows only the last (no script)."""
    store = _store()
    summary = store.log_summary()
    page = current_app.jinja_env.get_template("verify.html")
    checkpoint_path = _settings().checkpoint_dir
    steps: queue.Queue[int | VerifyReport | StoreError] = queue.Queue()

    def run() -> None:
        try:
            steps.put(store.audit_verify(checkpoint_path, progress=steps.put))
        except StoreError as exc:
            steps.put(exc)

    def parts() -> Iterator[str]:
        macros: Any = page.module
        yield macros.head(summary=summary, checkpoint_path=checkpoint_path)
        started = time.perf_counter()
        worker = threading.Thread(target=run, name="askfirst-console-verify", daemon=True)
        worker.start()
        while True:
            step = steps.get()
            if isinstance(step, int):
                yield macros.step(checked=step, total=summary.records)
                continue
            worker.join()
            if isinstance(step, StoreError):
                yield macros.failed(error=str(step))
            else:
                seconds = time.perf_counter() - started
                yield macros.step(checked=step.count, total=summary.records)
                yield macros.verdict(report=step, seconds=seconds)
            return

    return Response(stream_with_context(parts()), mimetype="text/html")


@console.route("/audit/export.jsonl")
def export() -> Response:
    """The log as JSON Lines, spooled to a temporary file past a few MB and sent in chunks."""
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by the response generator
        mode="w+", encoding="utf-8", max_size=EXPORT_IN_MEMORY
    )
    try:
        count = _store().audit_export(cast(TextIO, spool))
    except BaseException:
        spool.close()
        raise
    logger.info("console: exported %d audit records", count)
    spool.seek(0)

    def chunks() -> Iterator[str]:
        with spool:
            while chunk := spool.read(64 * 1024):
                yield chunk

    return Response(
        chunks(),
        mimetype="application/jsonl",
        headers={"Content-Disposition": 'attachment; filename="askfirst-audit.jsonl"'},
    )


# -- the playground -------------------------------------------------------------------------


@console.route("/playground", methods=["GET", "POST"])
def playground() -> tuple[str, int]:
    if request.method == "GET":
        return render_template("playground.html", text="", fmt="auto", report=None, error=None), 200
    fmt = request.form.get("format", "auto")
    if fmt not in ("auto", "yaml", "jsonl"):
        raise ConsoleError(
            f"format: expected 'auto', 'yaml' or 'jsonl', got {fmt!r}", code="bad_form", status=400
        )
    upload = request.files.get("file")
    name = "pasted"
    text = request.form.get("scenario", "")
    if upload is not None and upload.filename:
        name = upload.filename
        try:
            text = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            return _playground_error(text, fmt, "expected a UTF-8 text file, got other bytes")
        if fmt == "auto" and name.endswith(".jsonl"):
            fmt = "jsonl"
    chosen: Format = "yaml" if fmt == "yaml" else "jsonl" if fmt == "jsonl" else "auto"
    try:
        report = run_scenario(text, fmt=chosen, settings=_settings(), name=name)
    except (PlaygroundError, ScenarioError) as exc:
        return _playground_error(text, fmt, _without_temp_path(str(exc)))
    return render_template("playground.html", text=text, fmt=fmt, report=report, error=None), 200


def _playground_error(text: str, fmt: str, message: str) -> tuple[str, int]:
    return render_template("playground.html", text=text, fmt=fmt, report=None, error=message), 422


def _without_temp_path(message: str) -> str:
    """Messages name the scenario's file; in the playground that is a temporary one."""
    head, sep, tail = message.partition(": ")
    return tail if sep and "askfirst-playground-" in head else message
