"""Listening windows: opening, expiry edges, device and validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from askfirst.core.capture import CaptureContext, CaptureContextError, Trigger
from askfirst.core.windows import ListeningWindow, WindowError, open_window, window_admits

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def window(seconds: float = 8.0) -> ListeningWindow:
    return open_window(window_id="w1", device_id="d1", prompt_ended_at=T0, seconds=seconds)


def test_open_window_defaults_to_eight_seconds_after_the_prompt() -> None:
    w = open_window(window_id="w1", device_id="d1", prompt_ended_at=T0)
    assert (w.opened_at, w.expires_at, w.reason) == (
        T0,
        T0 + timedelta(seconds=8),
        "assistant_asked",
    )


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (-0.001, "window_not_yet_open"),
        (0.0, None),
        (7.999, None),
        (8.0, "window_expired"),
        (8.001, "window_expired"),
        (60.0, "window_expired"),
    ],
)
def test_expiry_edges(offset: float, expected: str | None) -> None:
    at = T0 + timedelta(seconds=offset)
    assert window_admits(window(), device_id="d1", at=at) == expected


def test_no_window_and_other_device() -> None:
    assert window_admits(None, device_id="d1", at=T0) == "no_open_window"
    assert window_admits(window(), device_id="d2", at=T0 + timedelta(seconds=1)) == (
        "window_other_device"
    )


def test_times_in_other_zones_compare_as_instants() -> None:
    seoul = timezone(timedelta(hours=9))
    at = (T0 + timedelta(seconds=3)).astimezone(seoul)
    assert window_admits(window(), device_id="d1", at=at) is None


@settings(max_examples=1000, deadline=None)
@given(
    seconds=st.floats(min_value=0.001, max_value=3600, allow_nan=False),
    offset=st.floats(min_value=-3600, max_value=7200, allow_nan=False),
)
def test_admitted_exactly_inside_the_half_open_interval(seconds: float, offset: float) -> None:
    w = window(seconds)
    at = T0 + timedelta(seconds=offset)
    admitted = window_admits(w, device_id="d1", at=at) is None
    assert admitted == (w.opened_at <= at < w.expires_at)


@pytest.mark.parametrize("seconds", [0, -1.0, float("nan"), float("inf"), True, "8"])
def test_bad_durations_are_refused(seconds: object) -> None:
    with pytest.raises(WindowError, match=r"seconds: expected a finite number above 0, got"):
        open_window(window_id="w1", device_id="d1", prompt_ended_at=T0, seconds=seconds)  # type: ignore[arg-type]


def test_naive_times_are_refused_with_the_value_shown() -> None:
    naive = datetime(2024, 5, 1, 12, 0, 0)
    with pytest.raises(
        WindowError,
        match=r"prompt_ended_at: expected a timezone-aware datetime, "
        r"got naive '2024-05-01T12:00:00'",
    ):
        open_window(window_id="w1", device_id="d1", prompt_ended_at=naive)
    with pytest.raises(WindowError, match=r"at: expected a timezone-aware datetime"):
        window_admits(window(), device_id="d1", at=naive)


def test_a_window_cannot_expire_before_it_opens() -> None:
    with pytest.raises(WindowError, match=r"expires_at: expected a time after opened_at"):
        ListeningWindow(id="w", device_id="d", opened_at=T0, expires_at=T0, reason="wake_word")


@pytest.mark.parametrize("field", ["id", "device_id", "reason"])
def test_blank_identifiers_are_refused(field: str) -> None:
    values: dict[str, object] = {
        "id": "w",
        "device_id": "d",
        "opened_at": T0,
        "expires_at": T0 + timedelta(seconds=1),
        "reason": "push_to_talk",
    }
    values[field] = " "
    with pytest.raises(WindowError, match=rf"{field}: expected a non-empty string, got ' '"):
        ListeningWindow(**values)  # type: ignore[arg-type]


def test_capture_context_accepts_a_trigger_string_and_checks_times() -> None:
    c = CaptureContext(trigger="follow_up", device_id="d", start=T0, end=T0)  # type: ignore[arg-type]
    assert c.trigger is Trigger.FOLLOW_UP
    assert c.duration == 0.0
    with pytest.raises(
        CaptureContextError,
        match=r"trigger: expected one of 'wake_word', 'push_to_talk', 'follow_up', 'none', "
        r"got 'button'",
    ):
        CaptureContext(trigger="button", device_id="d", start=T0, end=T0)  # type: ignore[arg-type]
    with pytest.raises(CaptureContextError, match=r"end: expected a time at or after start"):
        CaptureContext(trigger=Trigger.NONE, device_id="d", start=T0, end=T0 - timedelta(seconds=1))
    with pytest.raises(
        CaptureContextError, match=r"start: expected a timezone-aware datetime, got naive"
    ):
        CaptureContext(trigger=Trigger.NONE, device_id="d", start=datetime(2024, 1, 1), end=T0)
    with pytest.raises(
        CaptureContextError, match=r"device_id: expected a non-empty string, got ''"
    ):
        CaptureContext(trigger=Trigger.NONE, device_id="", start=T0, end=T0)
    with pytest.raises(
        CaptureContextError, match=r"end: expected a timezone-aware datetime, got '2024'"
    ):
        CaptureContext(trigger=Trigger.NONE, device_id="d", start=T0, end="2024")  # type: ignore[arg-type]
