"""Invariants of the engine, checked on 1,000 generated turns each (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import EXAMPLE_POLICY_PATH, load_policy
from askfirst.policy.detector import detect_question
from askfirst.policy.engine import decide, propose_offer
from askfirst.policy.locale import load_locale
from askfirst.policy.values import (
    Evidence,
    Offer,
    Provenance,
    Question,
    QuestionKind,
    RequestFacts,
    UserState,
    Verdict,
)
from tests.policy.inputs import TURN, Inputs, utterance
from tests.policy.test_detector import NOT_QUESTIONS, QUESTIONS
from tests.policy.test_detector_clauses import (
    KO_MULTI_NOT_QUESTIONS,
    KO_MULTI_QUESTIONS,
    MULTI_NOT_QUESTIONS,
    MULTI_QUESTIONS,
)
from tests.policy.test_detector_ko import KO_NOT_QUESTIONS, KO_QUESTIONS

POLICY = load_policy(EXAMPLE_POLICY_PATH)
IDS = tuple(entry.id for entry in POLICY.catalog)
TURNS = (TURN, "utt-0", "utt-2")
MANY = settings(max_examples=1000, deadline=None)
ASKED = [text for text, *_ in QUESTIONS + MULTI_QUESTIONS]
SENTENCES = ASKED + [text for text, _ in NOT_QUESTIONS + MULTI_NOT_QUESTIONS]
STATEMENTS = [text for text, why in NOT_QUESTIONS if why.startswith("statement")]

# Pools of ready-made values: one draw picks a whole value, which keeps 1,000 examples fast.
CITES = [(), *((t,) for t in TURNS), (TURN, "utt-0"), ("utt-0", TURN), (TURN, TURN)]
turn_ids = st.sampled_from(TURNS)
cites = st.sampled_from(CITES)
provenances = st.sampled_from([*Provenance, None])
bad_provenances = st.sampled_from([Provenance.AMBIENT, None])
ID_SETS = [(), *((i,) for i in IDS), IDS[:2], IDS[1:3][::-1], IDS]
QUESTION_POOL = [None] + [
    Question(turn, kind, None if kind is QuestionKind.BROWSE else topic, ids, "generated")
    for turn in TURNS
    for kind in QuestionKind
    for ids in ID_SETS
    for topic in ("coffee", "x")
]
OFFER_POOL = [None] + [
    Offer(entry=entry, answers_utterance_id=turn)
    for entry in (*POLICY.catalog, replace(POLICY.catalog[0], title="Forged Coffee"))
    for turn in TURNS
]
EVIDENCE_POOL = [
    Evidence(f"e-{n}", provenance, cited)
    for n, (provenance, cited) in enumerate(
        (provenance, cited) for provenance in [*Provenance, None] for cited in CITES
    )
]
USER_POOL = [
    UserState(
        user_id="user-1",
        opted_out=opted_out,
        child_profile=child,
        declined_offer_ids=declined,
        offers_this_session=session,
        offers_today=today,
    )
    for opted_out in (False, True)
    for child in (False, True)
    for declined in (frozenset(), frozenset(IDS[:1]), frozenset(IDS[1:3]))
    for session in (0, 1, 2)
    for today in (0, 2, 3, 5)
]
REQUEST_POOL = [
    RequestFacts(child_directed_skill=child, limit_ad_tracking=lat)
    for child in (False, True)
    for lat in (None, False, True)
]
users = st.sampled_from(USER_POOL)


def _decode(index: int) -> Inputs:
    """The index-th combination of the pools (a mixed-radix number): one draw per turn."""
    index, utt = divmod(index, len(UTTERANCES))
    index, question = divmod(index, len(QUESTION_POOL))
    index, offer = divmod(index, len(OFFER_POOL))
    index, user = divmod(index, len(USER_POOL))
    index, request = divmod(index, len(REQUEST_POOL))
    evidence = []
    while index:
        index, item = divmod(index - 1, len(EVIDENCE_POOL))
        evidence.append(EVIDENCE_POOL[item])
    return Inputs(
        utterance=UTTERANCES[utt],
        question=QUESTION_POOL[question],
        offer=OFFER_POOL[offer],
        evidence=tuple(evidence),
        user=USER_POOL[user],
        request=REQUEST_POOL[request],
    )


def any_inputs() -> st.SearchStrategy[Inputs]:
    """Any turn at all: most are denied, some permitted (up to three evidence items)."""
    size = len(UTTERANCES) * len(QUESTION_POOL) * len(OFFER_POOL) * len(USER_POOL)
    size *= len(REQUEST_POOL) * (1 + len(EVIDENCE_POOL)) ** 3
    return st.integers(0, size - 1).map(_decode)


UTTERANCES = [utterance(tag=tag) for tag in UtteranceTag]
PERMISSIVE = [
    Inputs(
        utterance=utterance(),
        question=Question(TURN, kind, "t", (entry.id,), "generated"),
        offer=Offer(entry=entry, answers_utterance_id=TURN),
        evidence=(Evidence("ok", provenance, (TURN,)),),
        user=UserState(user_id="user-1"),
        request=RequestFacts(limit_ad_tracking=lat),
    )
    for entry in POLICY.catalog
    for kind in QuestionKind
    for provenance in (Provenance.PROMPTED, Provenance.ALEXA_INTENT)
    for lat in (None, False)
]


def permissive_inputs() -> st.SearchStrategy[Inputs]:
    """Turns where everything but the property's subject favours a permit."""
    return st.sampled_from(PERMISSIVE)


inputs_for_evidence = st.one_of(any_inputs(), permissive_inputs())


@MANY
@given(
    inputs=inputs_for_evidence,
    provenance=bad_provenances,
    position=st.integers(0, 3),
    data=st.data(),
)
def test_ambient_or_unlabelled_evidence_never_permits(
    inputs: Inputs, provenance: Provenance | None, position: int, data: st.DataObject
) -> None:
    cites = data.draw(st.lists(turn_ids, max_size=2).map(tuple))
    bad = Evidence("bad", provenance, cites)
    evidence = list(inputs.evidence)
    evidence.insert(min(position, len(evidence)), bad)
    decision = replace(inputs, evidence=tuple(evidence)).decide(POLICY)
    assert not decision.permit
    r5 = next(r for r in decision.results if r.rule == "R5.evidence_provenance")
    assert r5.verdict is Verdict.FORBID


@MANY
@given(
    text=st.one_of(st.sampled_from(SENTENCES), st.text(max_size=80)),
    provenance=provenances,
    user=users,
)
def test_an_ambient_utterance_never_permits(
    text: str, provenance: Provenance | None, user: UserState
) -> None:
    heard = utterance(text, tag=UtteranceTag.AMBIENT)
    question = detect_question(
        text=text, utterance_id=heard.id, locale="en-US", catalog=POLICY.catalog
    )
    offer = propose_offer(question=question, policy=POLICY, user=user)
    decision = decide(
        decision_id="d",
        utterance=heard,
        question=question,
        offer=offer,
        evidence=(Evidence("e", provenance, (heard.id,)),),
        user=user,
        request=RequestFacts(),
        policy=POLICY,
    )
    assert not decision.permit
    assert decision.rule == "R1.prompted"


@MANY
@given(inputs=inputs_for_evidence)
def test_decisions_are_deterministic(inputs: Inputs) -> None:
    first = inputs.decide(POLICY)
    again = replace(inputs, evidence=tuple(replace(e) for e in inputs.evidence)).decide(POLICY)
    assert first == again
    assert inputs.decide(POLICY) == first


@MANY
@given(inputs=inputs_for_evidence)
def test_any_forbidding_rule_means_deny(inputs: Inputs) -> None:
    decision = inputs.decide(POLICY)
    forbidding = [r.rule for r in decision.results if r.verdict is Verdict.FORBID]
    assert len(decision.results) == 10
    if forbidding:
        assert not decision.permit
        assert decision.rule == forbidding[0]
        assert decision.obligations == ()
        assert decision.would_change
    else:
        assert decision.permit
        assert decision.rule == "permit"
        assert [o.code for o in decision.obligations] == [
            "disclose",
            "confirm_before_purchase",
            "no_price_in_upsell",
        ]
        # a permit rests on prompted evidence from this very turn
        assert decision.evidence_ids
        assert inputs.utterance.tag is UtteranceTag.PROMPTED
        assert all(
            e.provenance in (Provenance.PROMPTED, Provenance.ALEXA_INTENT)
            and set(e.utterance_ids) == {TURN}
            for e in inputs.evidence
        )


@MANY
@given(
    sentence=st.sampled_from(ASKED),
    wrapper=st.sampled_from(
        [
            "she asked {}",
            "he said {}",
            "my friend wants to know {}",
            "don't tell me {}",
            "I never asked {}",
            "no, {}",
        ]
    ),
)
def test_reported_or_negated_questions_are_not_questions(sentence: str, wrapper: str) -> None:
    text = wrapper.format(sentence)
    assert (
        detect_question(text=text, utterance_id="u", locale="en-US", catalog=POLICY.catalog) is None
    )


@MANY
@given(text=st.text(max_size=120), locale=st.sampled_from(["en-US", "ko-KR", "en-GB"]))
def test_the_detector_never_crashes(text: str, locale: str) -> None:
    question = detect_question(text=text, utterance_id="u", locale=locale, catalog=POLICY.catalog)
    assert question is None or (question.utterance_id == "u" and question.cue)


BLOCKERS = [
    "she asked",
    "my sister said",
    "he was like",
    "my friend wants to know",
    "don't tell me",
    "no",
    "never mind",
    "I'm not sure I want",
    "don't recommend anything",
    "she is asking",
]
# A clause that is only a hedge no longer vetoes (issue 10): "I'm not sure, what ... recommend"
HEDGES = ["I'm not sure", "I don't know", "not sure", "no idea"]
JOINS = ["{}, {}", "{}. {}", "{} and {}", "{} so {}", "{} - {}", "{}; {}", "{}, but {}"]


@MANY
@given(
    question=st.sampled_from(ASKED),
    statement=st.sampled_from(STATEMENTS),
    join=st.sampled_from(JOINS),
    statement_first=st.booleans(),
)
def test_a_statement_clause_leaves_the_question_as_it_is(
    question: str, statement: str, join: str, statement_first: bool
) -> None:
    text = join.format(statement, question) if statement_first else join.format(question, statement)
    alone = detect_question(text=question, utterance_id="u", locale="en-US", catalog=POLICY.catalog)
    assert alone is not None
    assert detect_question(text=text, utterance_id="u", locale="en-US", catalog=POLICY.catalog) == (
        alone
    ), text


@MANY
@given(
    question=st.sampled_from(ASKED),
    blocker=st.sampled_from(BLOCKERS),
    join=st.sampled_from(JOINS),
    blocker_first=st.booleans(),
)
def test_a_negated_or_reported_clause_anywhere_blocks_the_question(
    question: str, blocker: str, join: str, blocker_first: bool
) -> None:
    text = join.format(blocker, question) if blocker_first else join.format(question, blocker)
    assert (
        detect_question(text=text, utterance_id="u", locale="en-US", catalog=POLICY.catalog) is None
    ), text


@MANY
@given(
    question=st.sampled_from(ASKED),
    hedge=st.sampled_from(HEDGES),
    join=st.sampled_from(["{}, {}", "{}. {}", "{}; {}", "{} but {}", "{} so {}"]),
    hedge_first=st.booleans(),
)
def test_a_hedge_clause_leaves_the_question_as_it_is(
    question: str, hedge: str, join: str, hedge_first: bool
) -> None:
    text = join.format(hedge, question) if hedge_first else join.format(question, hedge)
    alone = detect_question(text=question, utterance_id="u", locale="en-US", catalog=POLICY.catalog)
    assert detect_question(text=text, utterance_id="u", locale="en-US", catalog=POLICY.catalog) == (
        alone
    ), text


KO_SENTENCES = [text for text, *_ in KO_QUESTIONS + KO_MULTI_QUESTIONS]
KO_SENTENCES += KO_NOT_QUESTIONS + KO_MULTI_NOT_QUESTIONS


@MANY
@given(
    text=st.one_of(st.sampled_from(SENTENCES + KO_SENTENCES), st.text(max_size=120)),
    locale=st.sampled_from(["en-US", "ko-KR"]),
)
def test_clause_splitting_loses_nothing(text: str, locale: str) -> None:
    """split() normalises as normalise() does and keeps only words of the text."""
    rules = load_locale(locale)
    whole, clauses = rules.split(text)
    assert whole == rules.normalise(text)
    assert set(" ".join(clauses).split()) <= set(whole.split())
