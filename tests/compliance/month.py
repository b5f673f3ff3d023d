"""A month of household traffic for the compliance tests: 4 households, 9 users, two policies.

``month_scenarios`` writes two scenario files (days 0-14 under the first policy, days 15-29
under the second), deterministic for a seed. Expected figures are taken from what the
simulator reports for each event, never from this generator's intentions.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml

DAY = 86400
HOUSEHOLDS = {
    "h1": {"devices": ["h1-kitchen", "h1-living"], "users": ["anna", "ben", "mia"]},
    "h2": {"devices": ["h2-kitchen"], "users": ["carl", "dana"]},
    "h3": {"devices": ["h3-hall"], "users": ["eve", "finn"]},
    "h4": {"devices": ["h4-den", "h4-office"], "users": ["gus", "hana"]},
}
PRODUCTS = ("coffee", "running shoes", "headphones", "tea")
CHILD = "mia"
SPLIT_DAY = 15
"""Days before this run under the first policy, the rest under the second."""


def _users() -> list[tuple[str, str, list[str]]]:
    return [
        (user, household, spec["devices"])
        for household, spec in HOUSEHOLDS.items()
        for user in spec["users"]
    ]


def _day_events(day: int, rng: random.Random) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i, (user, _household, devices) in enumerate(_users()):
        device = devices[i % len(devices)]
        product = rng.choice(PRODUCTS)
        events.append(
            {
                "at": day * DAY + 7 * 3600 + i * 420,
                "device": device,
                "user": user,
                "trigger": "wake_word",
                "say": f"Alexa, any deals on {product}?",
            }
        )
        events.append(
            {
                "at": day * DAY + 19 * 3600 + i * 300,
                "device": device,
                "user": user,
                "say": f"I really need some {rng.choice(PRODUCTS)} before the weekend",
            }
        )
        if rng.random() < 0.3:
            events.append(
                {
                    "at": day * DAY + 12 * 3600 + i * 180,
                    "device": device,
                    "user": user,
                    "intent": "DealQuestionIntent",
                    "slots": {"product": rng.choice(PRODUCTS)},
                }
            )
        if rng.random() < 0.2:
            events.append(
                {
                    "at": day * DAY + 15 * 3600 + i * 240,
                    "device": device,
                    "user": user,
                    "trigger": "push_to_talk",
                    "say": f"What {rng.choice(PRODUCTS)} do you recommend?",
                }
            )
    if day == 5:
        events.append(_command("ben", "Alexa, stop offering me deals", day))
    if day == 9:
        events.append(_command("ben", "Alexa, you can offer me deals again", day))
    if day == 3:
        events.append(_decline("carl", "h2-kitchen", "coffee-morning-roast", day))
    if day == 20:
        events.append(_decline("dana", "h2-kitchen", "tea-green-leaf", day))
    return events


def _command(user: str, text: str, day: int) -> dict[str, Any]:
    return {
        "at": day * DAY + 6 * 3600,
        "device": "h1-living",
        "user": user,
        "trigger": "wake_word",
        "say": text,
    }


def _decline(user: str, device: str, offer: str, day: int) -> dict[str, Any]:
    return {"at": day * DAY + 8 * 3600, "device": device, "user": user, "decline": offer}


def month_scenarios(
    directory: Path, *, policies: tuple[Path, Path], seed: int = 16
) -> tuple[Path, Path]:
    """Write the two halves of the month; returns their paths (start dates are passed to
    ``simulate --start``: 2026-01-05 and 15 days later)."""
    rng = random.Random(seed)
    paths = []
    for part, (first, last) in enumerate(((0, SPLIT_DAY), (SPLIT_DAY, 30))):
        events = []
        for day in range(first, last):
            for event in _day_events(day, rng):
                events.append({**event, "at": event["at"] - first * DAY})
        events.sort(key=lambda e: e["at"])
        scenario = {
            "name": f"a month of traffic, part {part + 1}",
            "policy": str(policies[part]),
            "users": {CHILD: {"child_profile": True}},
            "devices": {
                device: {"household": household}
                for household, spec in HOUSEHOLDS.items()
                for device in spec["devices"]
            },
            "events": events,
        }
        path = directory / f"month-{part + 1}.yaml"
        path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]
