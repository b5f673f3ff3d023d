"""The policy file: catalog, frequency caps, locales and obligation wording (TOML).

``load_policy`` reads and validates one file (pydantic) and returns a frozen ``Policy`` whose
``hash`` identifies its content; a bad file raises ``PolicyConfigError`` naming the file,
the field and what was wrong. ``dump_policy`` writes a policy back as TOML.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from askfirst.policy.errors import PolicyConfigError, PolicyError
from askfirst.policy.locale import available_locales, resolve_locale
from askfirst.policy.schema import PolicyModel
from askfirst.policy.validation import config_error
from askfirst.policy.values import CatalogEntry, Obligation, OfferKind

logger = logging.getLogger(__name__)

EXAMPLE_POLICY_PATH: Path = Path(__file__).parent / "data" / "example-policy.toml"
"""The bundled example policy (``examples/policy.toml`` links to it)."""

PRODUCT_ID_PREFIX = "amzn1.adg.product."
_PRICE = re.compile(
    r"[$€£¥₩]\s*\d|\d+[.,]\d\d\b|\b\d+\s*(?:dollars?|cents?|euros?|pounds?|won|bucks)\b|\d+\s*원",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Caps:
    """Frequency caps: how many offers a user may hear."""

    per_session: int
    per_user_per_day: int


@dataclass(frozen=True, slots=True)
class ObligationTexts:
    """The wording of the obligations attached to a permitted offer."""

    disclosure: str
    """The default disclosure, for entries without their own."""
    confirm_before_purchase: str
    no_price_in_upsell: str


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated policy: what may be offered, how often, in which locales."""

    catalog: tuple[CatalogEntry, ...]
    caps: Caps
    locales: tuple[str, ...]
    child_directed_skill: bool
    obligations: ObligationTexts
    hash: str = field(init=False)
    """sha256 hex of ``canonical``, the canonical JSON of the policy's resolved content
    (defaults filled in), not of the file's bytes: comments, order of keys and formatting do
    not change it; computed from the fields, so it always matches them."""
    source: str = field(default="<memory>", compare=False)
    _by_id: Mapping[str, CatalogEntry] = field(init=False, compare=False, hash=False, repr=False)
    _offer_obligations: Mapping[str, tuple[Obligation, ...]] = field(
        init=False, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        # Precomputed once so that decide() only does dictionary lookups.
        by_id = MappingProxyType({entry.id: entry for entry in self.catalog})
        obligations = MappingProxyType(
            {
                entry.id: (
                    Obligation("disclose", entry.disclosure),
                    Obligation("confirm_before_purchase", self.obligations.confirm_before_purchase),
                    Obligation("no_price_in_upsell", self.obligations.no_price_in_upsell),
                )
                for entry in self.catalog
            }
        )
        content_hash = _content_hash(
            self.catalog, self.caps, self.locales, self.child_directed_skill, self.obligations
        )
        object.__setattr__(self, "hash", content_hash)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_offer_obligations", obligations)

    @property
    def canonical(self) -> str:
        """The canonical JSON text ``hash`` is the SHA-256 of (what the store keeps)."""
        return canonical_content(
            self.catalog, self.caps, self.locales, self.child_directed_skill, self.obligations
        )

    def entry(self, offer_id: str) -> CatalogEntry | None:
        """The catalog entry with id ``offer_id``, if any."""
        return self._by_id.get(offer_id)

    def obligations_for(self, offer_id: str) -> tuple[Obligation, ...]:
        """The obligations a permitted offer of ``offer_id`` carries (precomputed)."""
        return self._offer_obligations.get(offer_id, ())


def load_policy(path: str | Path) -> Policy:
    """Read, validate and freeze the policy file at ``path``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyConfigError(
            source, None, f"expected a readable UTF-8 policy file, got {type(exc).__name__}: {exc}"
        ) from exc
    policy = parse_policy(text, source=source)
    logger.info("loaded policy %s (%d entries, hash %s)", source, len(policy.catalog), policy.hash)
    return policy


def parse_policy(text: str, *, source: str) -> Policy:
    """Validate policy TOML ``text``; ``source`` names it in error messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyConfigError(source, None, f"expected TOML, got a syntax error: {exc}") from exc
    try:
        model = PolicyModel.model_validate(raw)
    except ValidationError as exc:
        raise config_error(source, exc) from exc
    _check(model, source)
    return _freeze(model, source)


def _check(model: PolicyModel, source: str) -> None:
    """The checks that span fields, all of them reported at once (one line each)."""
    problems = list(_problems(model))
    if problems:
        field, problem = problems[0]
        error = PolicyConfigError(source, field, problem)
        if len(problems) > 1:
            more = "\n".join(f"{source}: {f}: {p}" for f, p in problems[1:])
            error.args = (f"{error.args[0]}\n{more}",)
        raise error


def _problems(model: PolicyModel) -> Iterator[tuple[str, str]]:
    """(field, problem) for each cross-field problem: unique ids, product ids by kind, no
    prices, known locales, and no catalog term shared by two entries (the first would win)."""
    known = available_locales()
    for index, locale in enumerate(model.locales):
        try:
            resolve_locale(locale)
        except PolicyError:
            names = ", ".join(repr(name) for name in known)
            yield (f"locales[{index}]", f"expected one of {names}, got {locale!r}")
    first_at: dict[str, int] = {}
    for index, entry in enumerate(model.catalog):
        where = f"catalog[{index}]"
        if entry.id in first_at:
            yield (
                f"{where}.id",
                f"expected a unique id, got {entry.id!r} again "
                f"(first at catalog[{first_at[entry.id]}])",
            )
            continue
        first_at[entry.id] = index
        if entry.kind == OfferKind.IN_SKILL_PRODUCT.value:
            if entry.product_id is None or not entry.product_id.startswith(PRODUCT_ID_PREFIX):
                yield (
                    f"{where}.product_id",
                    f"expected an in-skill product id starting {PRODUCT_ID_PREFIX!r} for kind "
                    f"'in_skill_product', got {entry.product_id!r}",
                )
        elif entry.product_id is not None:
            yield (
                f"{where}.product_id",
                f"expected no product_id for kind {entry.kind!r}, got {entry.product_id!r}",
            )
        for name in ("pitch", "disclosure"):
            value = getattr(entry, name) or ""
            if _PRICE.search(value):
                yield (
                    f"{where}.{name}",
                    f"expected no price (obligation no_price_in_upsell), got {value!r}",
                )
    yield from _shadowed_terms(model)


def _shadowed_terms(model: PolicyModel) -> Iterator[tuple[str, str]]:
    """A synonym that another entry also names (as a synonym, title or category): a spoken
    topic could only ever match the first. Entries may share a category (two coffees)."""
    seen: dict[str, tuple[str, str, bool]] = {}
    """term -> (field, entry id, is a synonym)"""
    for index, entry in enumerate(model.catalog):
        terms = [("title", entry.title, False), ("category", entry.category, False)]
        terms += [(f"synonyms[{n}]", s, True) for n, s in enumerate(entry.synonyms)]
        for name, term, synonym in terms:
            key = " ".join(term.casefold().split())
            earlier = seen.get(key)
            if earlier is not None and earlier[1] != entry.id and (synonym or earlier[2]):
                yield (
                    f"catalog[{index}].{name}",
                    f"expected a term no other entry uses, got {term!r}, which {earlier[0]} "
                    f"({earlier[1]!r}) already has; the first entry would always win",
                )
            elif earlier is None or synonym:
                seen[key] = (f"catalog[{index}].{name}", entry.id, synonym)


def canonical_content(
    catalog: tuple[CatalogEntry, ...],
    caps: Caps,
    locales: tuple[str, ...],
    child_directed_skill: bool,
    texts: ObligationTexts,
) -> str:
    """The canonical JSON text of the resolved content (defaults filled in, sorted keys, no
    spaces, UTF-8): what ``Policy.hash`` is the SHA-256 of and what the store keeps."""
    content: dict[str, Any] = {
        "catalog": [
            {
                "id": entry.id,
                "title": entry.title,
                "category": entry.category,
                "synonyms": list(entry.synonyms),
                "kind": entry.kind.value,
                "disclosure": entry.disclosure,
                "pitch": entry.pitch,
                "product_id": entry.product_id,
            }
            for entry in catalog
        ],
        "caps": {"per_session": caps.per_session, "per_user_per_day": caps.per_user_per_day},
        "locales": list(locales),
        "child_directed_skill": child_directed_skill,
        "obligations": {
            "disclosure": texts.disclosure,
            "confirm_before_purchase": texts.confirm_before_purchase,
            "no_price_in_upsell": texts.no_price_in_upsell,
        },
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _content_hash(
    catalog: tuple[CatalogEntry, ...],
    caps: Caps,
    locales: tuple[str, ...],
    child_directed_skill: bool,
    texts: ObligationTexts,
) -> str:
    """sha256 of the canonical JSON of the resolved content (defaults filled in)."""
    canonical = canonical_content(catalog, caps, locales, child_directed_skill, texts)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def policy_from_canonical(text: str, *, source: str) -> Policy:
    """The policy whose ``canonical`` text is ``text`` (as the store keeps it); refuses text
    that is not the canonical form of a valid policy (its hash would not be its SHA-256)."""
    try:
        data = json.loads(text)
        model = PolicyModel.model_validate(data)
    except (json.JSONDecodeError, ValidationError) as exc:
        raise PolicyConfigError(
            source, None, f"expected the canonical JSON of a policy, got: {exc}"
        ) from exc
    policy = _freeze(model, source)
    if policy.canonical != text:
        raise PolicyConfigError(
            source,
            None,
            f"expected canonical policy text hashing to {policy.hash!r}, got text that is not "
            "in canonical form (edited?)",
        )
    return policy


def _freeze(model: PolicyModel, source: str) -> Policy:
    texts = ObligationTexts(
        disclosure=model.obligations.disclosure,
        confirm_before_purchase=model.obligations.confirm_before_purchase,
        no_price_in_upsell=model.obligations.no_price_in_upsell,
    )
    catalog = tuple(
        CatalogEntry(
            id=entry.id,
            title=entry.title,
            category=entry.category,
            synonyms=tuple(entry.synonyms),
            kind=OfferKind(entry.kind),
            disclosure=entry.disclosure or texts.disclosure,
            pitch=entry.pitch,
            product_id=entry.product_id,
        )
        for entry in model.catalog
    )
    caps = Caps(model.caps.per_session, model.caps.per_user_per_day)
    locales = tuple(model.locales)
    return Policy(
        catalog=catalog,
        caps=caps,
        locales=locales,
        child_directed_skill=model.child_directed_skill,
        obligations=texts,
        source=source,
    )


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # JSON escapes are TOML escapes; TOML also forbids a raw DEL character.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise PolicyError(f"expected a TOML scalar or list, got {value!r}")


def dump_policy(policy: Policy) -> str:
    """``policy`` as TOML that ``parse_policy`` reads back to an equal policy."""
    lines = [
        f"locales = {_toml_value(policy.locales)}",
        f"child_directed_skill = {_toml_value(policy.child_directed_skill)}",
        "",
        "[caps]",
        f"per_session = {policy.caps.per_session}",
        f"per_user_per_day = {policy.caps.per_user_per_day}",
        "",
        "[obligations]",
        f"disclosure = {_toml_value(policy.obligations.disclosure)}",
        f"confirm_before_purchase = {_toml_value(policy.obligations.confirm_before_purchase)}",
        f"no_price_in_upsell = {_toml_value(policy.obligations.no_price_in_upsell)}",
    ]
    for entry in policy.catalog:
        lines += [
            "",
            "[[catalog]]",
            f"id = {_toml_value(entry.id)}",
            f"title = {_toml_value(entry.title)}",
            f"category = {_toml_value(entry.category)}",
            f"synonyms = {_toml_value(entry.synonyms)}",
            f"kind = {_toml_value(entry.kind.value)}",
            f"disclosure = {_toml_value(entry.disclosure)}",
            f"pitch = {_toml_value(entry.pitch)}",
        ]
        if entry.product_id is not None:
            lines.append(f"product_id = {_toml_value(entry.product_id)}")
    return "\n".join(lines) + "\n"
