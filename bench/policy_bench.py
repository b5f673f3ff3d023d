"""Policy engine benchmark: decisions per second over a mixed workload, and detector speed.

Run: .venv/bin/python bench/policy_bench.py [--turns N]

The baseline is the cost of building one turn's inputs (utterance, question, offer,
evidence, user state, request facts), measured in the same run; decide() is reported in
microseconds and as a ratio to that baseline. Target: median decide() <= 20 µs.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial

from askfirst.core.tags import UtteranceTag
from askfirst.policy.config import EXAMPLE_POLICY_PATH, Policy, load_policy
from askfirst.policy.detector import detect_question
from askfirst.policy.engine import decide, propose_offer
from askfirst.policy.values import (
    Decision,
    Evidence,
    Offer,
    Provenance,
    Question,
    QuestionKind,
    RequestFacts,
    UserState,
    Utterance,
)

TARGET_US = 20.0
DETECT_TARGET_US = 200.0
AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
KINDS = (
    "permitted",
    "ambient",
    "declined",
    "capped",
    "child",
    "opted_out",
    "no_question",
    "limit_ad_tracking",
    "carried_over",
    "unlabelled_evidence",
)
EN_SENTENCES = (
    "Alexa, what running shoes do you recommend?",
    "do you have any deals on coffee",
    "find me a deal on headphones",
    "what can I buy",
    "how much is the premium pack",
    "I'm out of coffee again",
    "my shoes are falling apart",
    "don't recommend anything",
    "what's the weather",
    "she asked Alexa about shoes",
    "add coffee to my shopping list",
    "I'm not sure, which headphones would you suggest for the gym?",
    "okay so I drink like four cups a day, what's the best coffee beans deal you have",
)
KO_SENTENCES = (
    "아리아, 커피 추천해 줘",
    "헤드폰 할인 있어?",
    "오늘 날씨 어때?",
    "어제 내가 아리아 한테 물어봤어",
    "러닝화 할인하는 거 있어?",
    "장보기 목록에 커피 추가해 줘",
    "좋은 이어폰 있으면 알려줘",
)

Turn = tuple[
    Utterance, Question | None, Offer | None, tuple[Evidence, ...], UserState, RequestFacts
]


def build_turn(n: int, kind: str, policy: Policy) -> Turn:
    """One turn's inputs: this is the baseline's work."""
    entry = policy.catalog[n % len(policy.catalog)]
    turn = f"utt-{n}"
    tag = UtteranceTag.AMBIENT if kind == "ambient" else UtteranceTag.PROMPTED
    utterance = Utterance(
        id=turn,
        text="do you have any deals on coffee",
        locale="en-US",
        tag=tag,
        tag_reasons=("wake_word_verified",),
        at=AT,
        device_id="kitchen",
        user_id="user-1",
        session_id="s-1",
    )
    asked = f"utt-{n - 1}" if kind == "carried_over" else turn
    question = (
        None
        if kind == "no_question"
        else Question(asked, QuestionKind.DEAL, entry.category, (entry.id,), "cue")
    )
    user = UserState(
        user_id="user-1",
        opted_out=kind == "opted_out",
        child_profile=kind == "child",
        declined_offer_ids=frozenset({entry.id}) if kind == "declined" else frozenset(),
        offers_this_session=1 if kind == "capped" else 0,
        offers_today=0,
    )
    offer = None if question is None else Offer(entry=entry, answers_utterance_id=asked)
    provenance = None if kind == "unlabelled_evidence" else Provenance(tag.value)
    evidence = (Evidence(f"{turn}/utterance", provenance, (turn,)),)
    request = RequestFacts(limit_ad_tracking=True if kind == "limit_ad_tracking" else None)
    return utterance, question, offer, evidence, user, request


def per_call_us(calls: Sequence[Callable[[], object]]) -> list[float]:
    clock = time.perf_counter_ns
    times = []
    for call in calls:
        start = clock()
        call()
        times.append((clock() - start) / 1000)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=50_000)
    args = parser.parse_args()
    policy = load_policy(EXAMPLE_POLICY_PATH)
    kinds = [KINDS[n % len(KINDS)] for n in range(args.turns)]

    gc.disable()

    def one(t: Turn) -> Callable[[], Decision]:
        u, q, o, e, s, r = t
        return lambda: decide(
            decision_id="d",
            utterance=u,
            question=q,
            offer=o,
            evidence=e,
            user=s,
            request=r,
            policy=policy,
        )

    # The first question per locale compiles its grammar for the catalog (once per process).
    first_call_ms = {}
    for locale, text in (("en-US", EN_SENTENCES[0]), ("ko-KR", KO_SENTENCES[0])):
        began = time.perf_counter()
        detect_question(text=text, utterance_id="u", locale=locale, catalog=policy.catalog)
        first_call_ms[locale] = (time.perf_counter() - began) * 1000

    # Warm up caches (locale data, catalog index) before measuring anything.
    for n in range(200):
        one(build_turn(n, kinds[n], policy))()

    build_times = per_call_us([partial(build_turn, n, kinds[n], policy) for n in range(args.turns)])
    turns = [build_turn(n, kinds[n], policy) for n in range(args.turns)]

    calls = [one(t) for t in turns]
    decide_times = per_call_us(calls)
    start = time.perf_counter()
    outcomes: Counter[str] = Counter()
    for call in calls:
        outcomes[call().rule] += 1
    loop_seconds = time.perf_counter() - start
    propose_times = per_call_us(
        [partial(propose_offer, question=t[1], policy=policy, user=t[4]) for t in turns[:5000]]
    )
    detect_en = per_call_us(
        [
            partial(
                detect_question, text=text, utterance_id="u", locale="en-US", catalog=policy.catalog
            )
            for text in EN_SENTENCES * 200
        ]
    )
    detect_ko = per_call_us(
        [
            partial(
                detect_question, text=text, utterance_id="u", locale="ko-KR", catalog=policy.catalog
            )
            for text in KO_SENTENCES * 200
        ]
    )
    gc.enable()

    base = statistics.median(build_times)
    median = statistics.median(decide_times)
    rows = [
        ("build inputs (baseline)", build_times),
        ("decide()", decide_times),
        ("propose_offer()", propose_times),
        ("detect_question() en-US", detect_en),
        ("detect_question() ko-KR", detect_ko),
    ]
    print(f"policy benchmark: {args.turns} turns, mixed workload of {len(KINDS)} kinds, gc off")
    print(f"{'operation':<26}{'median µs':>11}{'p99 µs':>10}{'x baseline':>12}")
    for name, values in rows:
        med = statistics.median(values)
        print(f"{name:<26}{med:>11.2f}{percentile(values, 0.99):>10.2f}{med / base:>12.2f}")
    print(f"decisions per second (plain loop): {args.turns / loop_seconds:,.0f}")
    print("outcomes: " + ", ".join(f"{rule} {count}" for rule, count in sorted(outcomes.items())))
    print(
        "grammar compile (first question per locale, once per process): "
        + ", ".join(f"{loc} {ms:.0f} ms" for loc, ms in first_call_ms.items())
    )
    for name, values in rows[3:]:
        mark = "PASS" if statistics.median(values) <= DETECT_TARGET_US else "FAIL"
        print(f"target median {name} <= {DETECT_TARGET_US:.0f} µs: {mark}")
    verdict = "PASS" if median <= TARGET_US else "FAIL"
    print(f"target median decide() <= {TARGET_US:.0f} µs: {verdict} ({median:.2f} µs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
