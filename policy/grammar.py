"""The question grammar: per-locale hassil YAML with a ``product`` list made from the catalog.

The grammar is written in hassil's template language (``policy/grammars/<locale>.yaml``):
expansion rules (``<deal_word>``), slot lists (``{product}``, generated here from the catalog:
title, category and synonyms, each to its catalog id), wildcards (``{use}``, ``{rest}``) and one
intent per question kind (``Ask*``, ``metadata.kind``) or task command (``Task*``,
``metadata.task``). hassil parses it; this module compiles hassil's parse into one regular
expression per locale over the shared normaliser's output (``askfirst.core.text``), because
hassil's own recogniser takes milliseconds per sentence on a grammar this size and a turn has
microseconds. ``tests/policy/test_grammar.py`` checks the two agree, and that every sentence
hassil's sampler generates comes back as its own intent.

Intents are tried in file order and the first template that matches a whole clause wins, so the
task commands, listed first, take "add coffee to my shopping list" before any question could.
Korean is matched with the spaces removed (speech transcripts space Korean freely).
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from hassil import Intents
from hassil.expression import (
    Alternative,
    Expression,
    ListReference,
    RuleReference,
    TextChunk,
)
from hassil.expression import Sequence as HassilSequence
from hassil.intents import TextSlotList, WildcardSlotList
from hassil.sample import sample_expression

from askfirst.core.text import normalise
from askfirst.policy.errors import PolicyConfigError
from askfirst.policy.locale import resolve_locale
from askfirst.policy.values import CatalogEntry, QuestionKind

__all__ = [
    "PRODUCT",
    "Grammar",
    "GrammarMatch",
    "Template",
    "grammar_for",
    "grammar_source",
    "product_values",
    "warm_grammars",
]

PRODUCT = "product"
"""The slot list generated from the catalog."""
_MAX_DEPTH = 32
_OPEN = "\x00"
"""Marks a first word that may go on (see ``Grammar._first``)."""


@dataclass(frozen=True, slots=True)
class Template:
    """One sentence template of the grammar, with the intent it belongs to."""

    intent: str
    """The grammar intent ("AskDeal", "TaskShoppingList")."""
    text: str
    """The template as written in the YAML file; shown in every detection."""
    kind: QuestionKind | None
    """The question kind of an ``Ask*`` intent; None for a task command."""
    task: str | None
    """The task command of a ``Task*`` intent ("shopping_list"); None for a question."""
    slots: tuple[str, ...]
    """The slot names of the template's capture groups, in order."""


@dataclass(frozen=True, slots=True)
class GrammarMatch:
    """A clause matched by one template, with the words each slot took."""

    template: Template
    slots: tuple[tuple[str, str], ...]
    """(slot name, the words it matched), in template order."""

    def slot(self, name: str) -> str | None:
        """The words the first slot called ``name`` matched, if any."""
        return next((words for slot, words in self.slots if slot == name), None)


@dataclass(frozen=True, slots=True)
class _Compiled:
    """Every template as its own regular expression, and for each first token (word; Korean:
    letter) the templates that can start with it, in file order.

    One alternation of all templates was slower than the sum of its parts: the regular
    expression engine saves every capture group at every alternative, and the grammar has
    hundreds; a clause now tries only the templates its first word can begin (at most a few
    dozen), each with its own few groups."""

    templates: tuple[tuple[Template, re.Pattern[str]], ...]
    by_first: dict[str, frozenset[int]]
    """First word (Korean: letter) -> the templates that can start with exactly it."""
    by_prefix: dict[str, frozenset[int]]
    """Start of a first word -> the templates whose first word may go on ("deal[s]")."""
    any_first: frozenset[int]
    """The templates that can start with anything (a wildcard first)."""
    spaceless: bool
    candidates: dict[str, tuple[int, ...]]
    """First word -> the templates to try, in file order (filled as words are met)."""

    def _candidates(self, first: str) -> tuple[int, ...]:
        found = self.candidates.get(first)
        if found is None:
            chosen = set(self.any_first) | self.by_first.get(first, frozenset())
            for end in range(1, len(first) + 1):
                chosen |= self.by_prefix.get(first[:end], frozenset())
            found = tuple(sorted(chosen))
            if len(self.candidates) > 4096:  # first words of arbitrary text: keep it bounded
                self.candidates.clear()
            self.candidates[first] = found
        return found

    def match(self, text: str) -> GrammarMatch | None:
        first = text[:1] if self.spaceless else text.partition(" ")[0]
        for index in self._candidates(first):
            template, regex = self.templates[index]
            found = regex.fullmatch(text)
            if found is not None:
                slots = tuple(
                    (name, words)
                    for name, words in zip(template.slots, found.groups(), strict=True)
                    if words is not None
                )
                return GrammarMatch(template, slots)
        return None


class Grammar:
    """One locale's grammar for one catalog: hassil's intents and their compiled matcher."""

    def __init__(self, locale: str, intents: Intents, products: dict[str, tuple[str, ...]]):
        self.locale = locale
        self.intents = intents
        self.spaceless = locale.startswith("ko")
        """Korean is matched with every space removed."""
        self.products = products
        """The product phrases (normalised, spaces removed) and the catalog ids each names."""
        self.skip_words = tuple(
            sorted({normalise(w, language=locale) for w in intents.skip_words}, key=len)[::-1]
        )
        self.templates = tuple(self._templates())
        self._exact = self._compile(loose=False)

    @functools.cached_property
    def _loose(self) -> _Compiled:
        """Compiled on the first text that no template takes (it is needed for no_product)."""
        return self._compile(loose=True)

    def _templates(self) -> Iterator[tuple[Template, Any]]:
        for name, intent in self.intents.intents.items():
            for data in intent.data:
                meta = data.metadata or {}
                kind = QuestionKind(meta["kind"]) if "kind" in meta else None
                task = meta.get("task")
                if (kind is None) == (task is None):
                    raise PolicyConfigError(
                        f"policy/grammars/{self.locale}.yaml",
                        f"intents.{name}",
                        f"expected metadata with one of 'kind' or 'task', got {meta!r}",
                    )
                parsed = {sentence.text: sentence for sentence in data.sentences}
                for text in data.sentence_texts:  # file order (hassil sorts its own list)
                    sentence = parsed[text]
                    slots = tuple(
                        ref.slot_name
                        for ref in _list_refs(sentence.expression, self.intents.expansion_rules)
                    )
                    yield Template(name, text, kind, task, slots), sentence.expression

    def _compile(self, *, loose: bool) -> _Compiled:
        """Every template compiled, indexed by the tokens it can start with; ``loose``: the
        product list is a wildcard, and only question templates take part (what finds "a
        question about something we do not sell")."""
        compiled: list[tuple[Template, re.Pattern[str]]] = []
        firsts: list[frozenset[str] | None] = []
        for template, expression in self.templates:
            if loose and (template.kind is None or PRODUCT not in template.slots):
                continue
            pieces: list[str] = []
            self._emit(expression, pieces, loose=loose, depth=0)
            compiled.append((template, re.compile("".join(pieces))))
            first, nullable = self._first(expression, loose=loose, depth=0)
            firsts.append(None if nullable else first)
        by_first: dict[str, set[int]] = {}
        by_prefix: dict[str, set[int]] = {}
        for index, first in enumerate(firsts):
            for token in first or ():
                if token.endswith(_OPEN):
                    by_prefix.setdefault(token[: -len(_OPEN)], set()).add(index)
                else:
                    by_first.setdefault(token, set()).add(index)
        return _Compiled(
            tuple(compiled),
            {token: frozenset(found) for token, found in by_first.items()},
            {token: frozenset(found) for token, found in by_prefix.items()},
            frozenset(index for index, first in enumerate(firsts) if first is None),
            self.spaceless,
            {},
        )

    def _first(
        self, exp: Expression, *, loose: bool, depth: int
    ) -> tuple[frozenset[str] | None, bool]:
        """The first tokens ``exp`` can start with (None: any) and whether it can be empty. A
        word that what follows may glue onto ("deal" in "deal[s]") ends with ``_OPEN``: a
        clause's first word need only start with it."""
        if depth > _MAX_DEPTH:
            return None, True
        if isinstance(exp, TextChunk):
            text = exp.original_text
            words = self._words_of(text)
            if not words:
                return frozenset(), True
            glued = not self.spaceless and len(words) == 1 and not text[-1:].isspace()
            return frozenset({words[0] + _OPEN if glued else words[0]}), False
        if isinstance(exp, HassilSequence):
            found: set[str] = set()
            for item in exp.items:
                first, nullable = self._first(item, loose=loose, depth=depth + 1)
                if first is None:
                    return None, False
                found |= first
                if not nullable:
                    return frozenset(found), False
            return frozenset(found), True
        if isinstance(exp, Alternative):
            found = set()
            nullable = exp.is_optional
            for item in exp.items:
                first, empty = self._first(item, loose=loose, depth=depth + 1)
                if first is None:
                    return None, False
                found |= first
                nullable = nullable or empty
            return frozenset(found), nullable
        if isinstance(exp, RuleReference):
            rule = self.intents.expansion_rules[exp.rule_name]
            return self._first(rule.expression, loose=loose, depth=depth + 1)
        if isinstance(exp, ListReference) and exp.list_name == PRODUCT and not loose:
            if self.spaceless:
                return frozenset(key[:1] for key, _ in self._product_texts), False
            return frozenset(spaced.split()[0] + _OPEN for _, spaced in self._product_texts), False
        return None, False

    def _words_of(self, text: str) -> list[str]:
        """A template's literal text as the matcher compares it: words (Korean: letters)."""
        joined = normalise(text, language=self.locale)
        return list(joined.replace(" ", "")) if self.spaceless else joined.split()

    def _sep(self) -> str:
        """Between words: a word boundary and the one space, taken whenever it is there
        (possessive: words in a normalised clause are one space apart, so never leaving the
        space to a later separator costs no match and saves trying every placement of it
        around optional parts)."""
        return "" if self.spaceless else r"\b ?+"

    def _words(self, text: str) -> str:
        joined = normalise(text, language=self.locale)
        if self.spaceless:
            return re.escape(joined.replace(" ", ""))
        return re.escape(joined).replace(r"\ ", " ")

    def _emit(self, exp: Expression, out: list[str], *, loose: bool, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise PolicyConfigError(
                f"policy/grammars/{self.locale}.yaml", None, "expected no recursive rules"
            )
        if isinstance(exp, TextChunk):
            text = exp.original_text
            if not text:
                return
            if text[:1].isspace():
                out.append(self._sep())
            if text.strip():
                out.append(self._words(text))
            if text[-1:].isspace() and text.strip():
                out.append(self._sep())
        elif isinstance(exp, HassilSequence):
            for item in exp.items:
                self._emit(item, out, loose=loose, depth=depth + 1)
        elif isinstance(exp, Alternative):
            options = []
            for item in exp.items:
                sub: list[str] = []
                self._emit(item, sub, loose=loose, depth=depth + 1)
                option = "".join(sub)
                if option not in options:  # "what's" and "what is" are one option once normalised
                    options.append(option)
            if exp.is_optional and "" not in options:
                options.append("")
            out.append(f"(?:{'|'.join(options)})")
        elif isinstance(exp, RuleReference):
            rule = self.intents.expansion_rules[exp.rule_name]
            self._emit(rule.expression, out, loose=loose, depth=depth + 1)
        elif isinstance(exp, ListReference):
            slot_list = self.intents.slot_lists.get(exp.list_name)
            if isinstance(slot_list, WildcardSlotList) or (loose and exp.list_name == PRODUCT):
                out.append(r"(\w.*?)" if not self.spaceless else "(.+?)")
            elif exp.list_name == PRODUCT:
                out.append(f"({self._product_regex})")
            elif isinstance(slot_list, TextSlotList):
                out.append(f"({self._list_regex(slot_list)})")
            else:
                raise PolicyConfigError(
                    f"policy/grammars/{self.locale}.yaml",
                    f"lists.{exp.list_name}",
                    f"expected a values or wildcard list, got {type(slot_list).__name__!r}",
                )
        else:
            raise PolicyConfigError(
                f"policy/grammars/{self.locale}.yaml",
                None,
                f"expected sequences, alternatives, rules and lists, got {exp!r}",
            )

    @functools.cached_property
    def _product_regex(self) -> str:
        """Every product phrase, as a prefix tree (the alternation is written out in every
        template, so its size is most of the compile time)."""
        if self.spaceless:
            return _trie_regex([list(key) for key, _ in self._product_texts], "")
        return _trie_regex([spaced.split() for _, spaced in self._product_texts], " ")

    @functools.cached_property
    def _spaced(self) -> dict[str, str]:
        return {key: text for key, text in self._product_texts}

    @functools.cached_property
    def _product_texts(self) -> tuple[tuple[str, str], ...]:
        slot_list = self.intents.slot_lists.get(PRODUCT)
        if not isinstance(slot_list, TextSlotList):
            return ()
        found: dict[str, str] = {}
        for value in slot_list.values:
            for text in sample_expression(value.text_in, {}, {}):
                spaced = normalise(text, language=self.locale)
                found.setdefault(spaced.replace(" ", ""), spaced)
        return tuple(found.items())

    def _list_regex(self, slot_list: TextSlotList) -> str:
        texts = {
            normalise(text, language=self.locale)
            for value in slot_list.values
            for text in sample_expression(value.text_in, {}, {})
        }
        if self.spaceless:
            texts = {text.replace(" ", "") for text in texts}
        ordered = sorted(texts, key=lambda t: (-len(t), t))
        return "|".join(re.escape(t).replace(r"\ ", " ") for t in ordered) or "(?!)"

    def prepare(self, clause: str) -> str:
        """A normalised clause as the matcher reads it: skip words out, (Korean) spaces out."""
        if self.skip_words:
            words = clause.split()
            kept = [w for w in words if w not in self.skip_words]
            if len(kept) != len(words):
                clause = " ".join(kept)
            for phrase in self.skip_words:
                if " " in phrase and phrase in clause:
                    clause = " ".join(f" {clause} ".replace(f" {phrase} ", " ").split())
        return clause.replace(" ", "") if self.spaceless else clause

    def match(self, clause: str) -> GrammarMatch | None:
        """The first template (file order) matching all of a normalised clause."""
        return self._exact.match(self.prepare(clause))

    def warm(self) -> None:
        """Compile the lazily compiled matcher too, so no request pays for it."""
        _ = self._loose

    def match_unknown_product(self, clause: str) -> GrammarMatch | None:
        """The first question template matching the clause with any words as the product."""
        return self._loose.match(self.prepare(clause))

    def sample(self, expression: Expression, rng: random.Random | None) -> str:
        """One sentence ``expression`` can say, slots left as ``{name}``: with no ``rng`` the
        plainest (optional parts left out, first alternatives), else a seeded random one."""
        return " ".join(self._say(expression, rng, 0).split())

    def _say(self, exp: Expression, rng: random.Random | None, depth: int) -> str:
        if depth > _MAX_DEPTH:
            return ""
        if isinstance(exp, TextChunk):
            return exp.original_text
        if isinstance(exp, Alternative):
            if rng is None:
                return "" if exp.is_optional else self._say(exp.items[0], rng, depth + 1)
            if exp.is_optional and rng.random() < 0.7:
                return ""
            return self._say(rng.choice(exp.items), rng, depth + 1)
        if isinstance(exp, HassilSequence):
            return "".join(self._say(item, rng, depth + 1) for item in exp.items)
        if isinstance(exp, RuleReference):
            rule = self.intents.expansion_rules[exp.rule_name]
            return self._say(rule.expression, rng, depth + 1)
        if isinstance(exp, ListReference):
            return "{" + exp.slot_name + "}"
        return ""

    @functools.cached_property
    def _product_starts(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        """Product phrases (as word tuples) by their first word; Korean: the whole phrase."""
        starts: dict[str, list[tuple[str, ...]]] = {}
        for key, spaced in self._product_texts:
            words = (key,) if self.spaceless else tuple(spaced.split())
            starts.setdefault(words[0][:1] if self.spaceless else words[0], []).append(words)
        return {first: tuple(phrases) for first, phrases in starts.items()}

    def without_modifiers(
        self, clause: str, keep: frozenset[str], most: int = 2
    ) -> Iterator[tuple[str, str]]:
        """The clause without one or two describing words right before a product name
        ("wireless headphones" -> "headphones", "노이즈 캔슬링 헤드폰" -> "헤드폰"), with the words
        dropped. Words in ``keep`` (function words: "on", "the", "my") are never dropped, and
        the product stays the head noun: "coffee maker" names no product, so nothing is tried."""
        words = clause.split()
        for index in range(1, len(words)):
            if not self._starts_product(words, index):
                continue
            for count in range(1, most + 1):
                dropped = words[index - count : index]
                if index - count < 0 or any(w in keep or not w.isalpha() for w in dropped):
                    break
                yield " ".join(words[: index - count] + words[index:]), " ".join(dropped)

    def _starts_product(self, words: list[str], index: int) -> bool:
        word = words[index]
        if self.spaceless:
            return any(
                word.startswith(phrase[0]) for phrase in self._product_starts.get(word[:1], ())
            )
        return any(
            tuple(words[index : index + len(phrase)]) == phrase
            for phrase in self._product_starts.get(word, ())
        )

    def catalog_ids(self, product_words: str) -> tuple[str, ...]:
        """The catalog ids the matched product words name."""
        return self.products.get(product_words.replace(" ", ""), ())


def _trie_regex(phrases: list[list[str]], sep: str) -> str:
    """A regular expression matching exactly the token sequences ``phrases`` (tokens joined by
    ``sep``), written as a prefix tree."""
    end = ""
    root: dict[str, Any] = {}
    for tokens in phrases:
        node = root
        for token in tokens:
            node = node.setdefault(token, {})
        node[end] = {}

    def emit(node: dict[str, Any]) -> str:
        options = []
        for token, child in sorted(node.items(), key=lambda item: (-len(item[0]), item[0])):
            if token == end:
                continue
            if not any(key != end for key in child):
                options.append(re.escape(token))
            elif end in child:
                options.append(f"{re.escape(token)}(?:{sep}{emit(child)})?")
            else:
                options.append(f"{re.escape(token)}{sep}{emit(child)}")
        return options[0] if len(options) == 1 else f"(?:{'|'.join(options)})"

    return emit(root) if any(key != end for key in root) else "(?!)"


def _list_refs(exp: Expression, rules: dict[str, Any], depth: int = 0) -> Iterator[ListReference]:
    """The list references of an expression, in the order the compiler numbers them."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(exp, ListReference):
        yield exp
    elif isinstance(exp, HassilSequence | Alternative):
        for item in exp.items:
            yield from _list_refs(item, rules, depth + 1)
    elif isinstance(exp, RuleReference):
        yield from _list_refs(rules[exp.rule_name].expression, rules, depth + 1)


def _script_fits(locale: str, text: str) -> bool:
    """Whether a catalog name belongs in ``locale``'s product list (Hangul names go to ko)."""
    hangul = any("\uac00" <= ch <= "\ud7a3" for ch in text)
    return hangul == locale.startswith("ko") or (locale.startswith("ko") and not hangul)


def _inflections(locale: str, phrase: str) -> tuple[str, ...]:
    """The phrase and its other number (en: "shoes" and "shoe", "coffee" and "coffees")."""
    if not locale.startswith("en"):
        return (phrase,)
    head, _, last = phrase.rpartition(" ")
    prefix = f"{head} " if head else ""
    if last.endswith("s") and not last.endswith("ss") and len(last) > 3:
        return (phrase, prefix + last[:-1])
    return (phrase, prefix + last + "s")


def product_values(locale: str, catalog: Sequence[CatalogEntry]) -> list[dict[str, Any]]:
    """The ``product`` slot list for ``catalog``: every title, category and synonym in the
    locale's script, with its other number in English, each to its catalog id."""
    values: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in catalog:
        for name in (entry.title, entry.category, *entry.synonyms):
            if not _script_fits(locale, name):
                continue
            for phrase in _inflections(locale, normalise(name, language=locale)):
                if phrase and phrase not in seen:
                    seen.add(phrase)
                    values.append({"in": phrase, "out": entry.id})
    return values


@functools.cache
def grammar_source(locale: str) -> dict[str, Any]:
    """The locale's grammar file as a dict (without the product list)."""
    name = resolve_locale(locale)
    path = f"policy/grammars/{name}.yaml"
    text = resources.files("askfirst.policy.grammars").joinpath(f"{name}.yaml").read_text("utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyConfigError(path, None, f"expected YAML, got {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("intents"), dict):
        raise PolicyConfigError(path, "intents", "expected a mapping of intents")
    return data


def build_intents(locale: str, catalog: Sequence[CatalogEntry]) -> Intents:
    """hassil's intents for the locale's grammar with the catalog's product list."""
    data = dict(grammar_source(locale))
    lists = dict(data.get("lists") or {})
    lists[PRODUCT] = {"values": product_values(resolve_locale(locale), catalog)}
    data["lists"] = lists
    return Intents.from_dict(data)


@functools.lru_cache(maxsize=32)
def grammar_for(locale: str, catalog: tuple[CatalogEntry, ...]) -> Grammar:
    """The compiled grammar for ``locale`` and ``catalog`` (cached per catalog)."""
    name = resolve_locale(locale)
    products: dict[str, tuple[str, ...]] = {}
    for value in product_values(name, catalog):
        key = value["in"].replace(" ", "")
        ids = products.get(key, ())
        if value["out"] not in ids:
            products[key] = (*ids, value["out"])
    # a name two entries share names both; the other number of one entry's name too
    for entry in catalog:
        for name_text in (entry.title, entry.category, *entry.synonyms):
            for phrase in _inflections(name, normalise(name_text, language=name)):
                key = phrase.replace(" ", "")
                if key in products and entry.id not in products[key]:
                    products[key] = (*products[key], entry.id)
    return Grammar(name, build_intents(name, catalog), products)


def warm_grammars(locales: Sequence[str], catalog: tuple[CatalogEntry, ...]) -> None:
    """Compile (and cache) every locale's grammar for ``catalog``: 1-2.6 s each, paid once."""
    for locale in locales:
        grammar_for(locale, catalog).warm()
