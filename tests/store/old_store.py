"""A database as askfirst wrote it before the audit log was sharded (schema version 1): one
chain, one head row (id 1), no MACs, no index on ``decisions.utterance_id``."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    create_engine,
    insert,
)

from askfirst.store.chain import GENESIS, Link, canonical, digest_of, link_hash
from askfirst.store.engine import driver_url

old = MetaData()
Table("schema_version", old, Column("version", Integer, nullable=False))
Table(
    "users",
    old,
    Column("user_id", Text, primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("child_profile", Boolean, nullable=False),
    Column("updated_at", Text, nullable=False),
)
Table(
    "declined",
    old,
    Column("user_id", Text, primary_key=True),
    Column("offer_id", Text, primary_key=True),
    Column("decision_id", Text),
    Column("at", Text, nullable=False),
)
Table(
    "utterances",
    old,
    Column("id", Text, primary_key=True),
    Column("user_id", Text, index=True),
    Column("session_id", Text),
    Column("device_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("tag", Text, nullable=False),
    Column("tag_reasons", Text, nullable=False),
    Column("text", Text),
    Column("expires_at", Text, nullable=False, index=True),
    CheckConstraint("tag = 'prompted' OR text IS NULL", name="ambient_has_no_text"),
    CheckConstraint("tag IN ('prompted', 'ambient')", name="known_tag"),
)
old_decisions = Table(
    "decisions",
    old,
    Column("id", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("user_id", Text),
    Column("session_id", Text),
    Column("utterance_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("permit", Boolean, nullable=False),
    Column("has_offer", Boolean, nullable=False),
    Index("decisions_user_at", "user_id", "at"),
    Index("decisions_user_session", "user_id", "session_id"),
)
Table(
    "windows",
    old,
    Column("device_id", Text, primary_key=True),
    Column("id", Text, nullable=False),
    Column("opened_at", Text, nullable=False),
    Column("expires_at", Text, nullable=False),
    Column("reason", Text, nullable=False),
)
Table(
    "peers",
    old,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", Text, nullable=False),
    Column("at", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("expires_at", Text, nullable=False, index=True),
    Index("peers_fingerprint_at", "fingerprint", "at"),
)
old_log = Table(
    "audit_log",
    old,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("digest", Text, nullable=False),
    Column("decision_id", Text, index=True),
    Column("permit", Boolean),
    Column("rule", Text),
    Column("policy_hash", Text),
    Column("hash", Text, nullable=False),
    Column("payload", Text),
    Column("erased_by", BigInteger),
    Column("user_id", Text, index=True),
)
old_head = Table(
    "chain_head",
    old,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", Text, nullable=False),
)

AT = "2024-05-17T12:30:00.000000+00:00"


def write_old_store(url: str, *, decisions: int = 3, user: str = "alice") -> None:
    """A version-1 database at ``url`` holding ``decisions`` decision records of ``user``."""
    engine = create_engine(driver_url(url))
    try:
        with engine.begin() as conn:
            old.create_all(conn)
            conn.execute(insert(old.tables["schema_version"]).values(version=1))
            prev = GENESIS
            for n in range(1, decisions + 1):
                payload = canonical(
                    {
                        "user_id": user,
                        "session_id": "s1",
                        "utterance": {"id": f"old-u{n}", "text": None},
                        "decision": {"id": f"old-d{n}", "offer": None},
                    }
                )
                link = Link(
                    seq=n,
                    at=AT,
                    kind="decision",
                    digest=digest_of(payload),
                    decision_id=f"old-d{n}",
                    permit=False,
                    rule="R1.prompted",
                    policy_hash="p",
                )
                prev = link_hash(prev, link)
                conn.execute(
                    insert(old_log).values(
                        seq=n,
                        at=AT,
                        kind="decision",
                        digest=link.digest,
                        decision_id=link.decision_id,
                        permit=False,
                        rule=link.rule,
                        policy_hash="p",
                        hash=prev,
                        payload=payload,
                        user_id=user,
                    )
                )
                conn.execute(
                    insert(old_decisions).values(
                        id=link.decision_id,
                        seq=n,
                        user_id=user,
                        session_id="s1",
                        utterance_id=f"old-u{n}",
                        at=AT,
                        permit=False,
                        has_offer=False,
                    )
                )
            conn.execute(insert(old_head).values(id=1, seq=decisions, hash=prev))
    finally:
        engine.dispose()
