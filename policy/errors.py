"""The policy package's exceptions: one root, and a configuration error that says where."""

from __future__ import annotations


class PolicyError(Exception):
    """Root of every error the policy package raises."""


class PolicyConfigError(PolicyError):
    """A policy or locale file is unusable; the message names file, field and problem."""

    def __init__(self, source: str, field: str | None, problem: str) -> None:
        self.source = source
        """The file (or other source) that was being read."""
        self.field = field
        """The field path inside it, e.g. ``catalog[2].kind``; None for the file as a whole."""
        self.problem = problem
        """What was expected and what arrived."""
        where = source if not field else f"{source}: {field}"
        super().__init__(f"{where}: {problem}")


class UnknownLocaleError(PolicyError):
    """No locale data exists for the locale asked for."""

    def __init__(self, locale: str, available: tuple[str, ...]) -> None:
        self.locale = locale
        self.available = available
        names = ", ".join(repr(name) for name in available)
        super().__init__(
            f"expected a locale with data in policy/locales (one of {names}), got {locale!r}"
        )
