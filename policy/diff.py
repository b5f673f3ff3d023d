"""What changed between two policies: catalog entries, synonyms, pitches, disclosures, caps,
locales, obligations. Pure: it compares two ``Policy`` values, wherever they came from."""

from __future__ import annotations

from dataclasses import dataclass

from askfirst.policy.config import Policy
from askfirst.policy.values import CatalogEntry

ENTRY_FIELDS = ("title", "category", "kind", "disclosure", "pitch", "product_id")
"""Catalog-entry fields compared as single values (synonyms are compared as a set)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: where, and the value before and after (None: absent on that side)."""

    where: str
    """``catalog``, ``catalog.ID.FIELD``, ``caps.per_session``, ``locales``, ..."""
    before: str | None
    after: str | None

    def line(self) -> str:
        """One line of ``policy diff``: ``+ added``, ``- removed`` or ``before -> after``."""
        if self.before is None:
            return f"{self.where}: + {self.after}"
        if self.after is None:
            return f"{self.where}: - {self.before}"
        return f"{self.where}: {self.before} -> {self.after}"


def diff_policies(a: Policy, b: Policy) -> list[Change]:
    """Every change from ``a`` to ``b``, in a stable order; empty when the hashes are equal."""
    if a.hash == b.hash:
        return []
    changes: list[Change] = []
    old = {entry.id: entry for entry in a.catalog}
    new = {entry.id: entry for entry in b.catalog}
    for entry_id in old.keys() - new.keys():
        changes.append(Change("catalog", f"{entry_id} ({old[entry_id].title!r})", None))
    for entry_id in new.keys() - old.keys():
        changes.append(Change("catalog", None, f"{entry_id} ({new[entry_id].title!r})"))
    for entry_id in old.keys() & new.keys():
        changes += _entry_changes(old[entry_id], new[entry_id])
    for name in ("per_session", "per_user_per_day"):
        before, after = getattr(a.caps, name), getattr(b.caps, name)
        if before != after:
            changes.append(Change(f"caps.{name}", str(before), str(after)))
    changes += _set_changes("locales", a.locales, b.locales)
    if a.child_directed_skill != b.child_directed_skill:
        changes.append(
            Change("child_directed_skill", str(a.child_directed_skill), str(b.child_directed_skill))
        )
    for name in ("disclosure", "confirm_before_purchase", "no_price_in_upsell"):
        before, after = getattr(a.obligations, name), getattr(b.obligations, name)
        if before != after:
            changes.append(Change(f"obligations.{name}", repr(before), repr(after)))
    return sorted(changes, key=lambda c: (_area_order(c.where), c.where, c.before or ""))


def _entry_changes(a: CatalogEntry, b: CatalogEntry) -> list[Change]:
    changes = _set_changes(f"catalog.{a.id}.synonyms", a.synonyms, b.synonyms)
    for name in ENTRY_FIELDS:
        before, after = getattr(a, name), getattr(b, name)
        if before != after:
            changes.append(Change(f"catalog.{a.id}.{name}", _show(before), _show(after)))
    return changes


def _set_changes(where: str, a: tuple[str, ...], b: tuple[str, ...]) -> list[Change]:
    removed = sorted(set(a) - set(b))
    added = sorted(set(b) - set(a))
    return [Change(where, repr(item), None) for item in removed] + [
        Change(where, None, repr(item)) for item in added
    ]


def _show(value: object) -> str:
    return repr(getattr(value, "value", value))


def _area_order(where: str) -> int:
    for order, prefix in enumerate(("catalog", "caps", "locales", "child", "obligations")):
        if where.startswith(prefix):
            return order
    return 99
