"""A child process for the fault tests: runs turns in a loop and prints each committed id.

    python -m tests.store.appender URL --user USER --prefix P [--turns N] [--cap C] [--wait-for F]
        [--threads T]

Each turn reads the user's state, permits an offer only while ``offers_this_session < cap``
(the caller's cap check, as the policy does it) and records the decision. A line
"<decision id> <permit>" is printed and flushed only after the turn has committed. With
``--threads`` several threads append at once (their commits are then shared, see
``store.group_commit``), each with ids of its own.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from askfirst.store.base import open_store
from tests.store.builders import decision, utterance


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--user", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--turns", type=int, default=0, help="0 runs until killed")
    parser.add_argument("--cap", type=int, default=1_000_000)
    parser.add_argument("--wait-for", type=Path, help="print 'ready', start once this file exists")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    store = open_store(args.url)
    if args.wait_for is not None:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        deadline = time.monotonic() + 30
        while not args.wait_for.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    printing = threading.Lock()

    def append(prefix: str) -> None:
        n = 0
        while args.turns == 0 or n < args.turns:
            uid, did = f"{prefix}-u{n}", f"{prefix}-d{n}"
            with store.turn(user_id=args.user, session_id="s1", now=datetime.now(UTC)) as tx:
                state = tx.user_state()
                permit = state.offers_this_session < args.cap
                tx.record(
                    utterance=utterance(uid, user_id=args.user),
                    decision=decision(did, utterance_id=uid, permit=permit),
                    consent=state,
                )
            with printing:
                sys.stdout.write(f"{did} {int(permit)}\n")
                sys.stdout.flush()
            n += 1

    try:
        if args.threads == 1:
            append(args.prefix)
        else:
            threads = [
                threading.Thread(target=append, args=(f"{args.prefix}{t}",), daemon=True)
                for t in range(args.threads)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
