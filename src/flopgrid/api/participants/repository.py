"""Participants and their keys."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flopgrid.store.keys import KeyPair
from flopgrid.store.models import ApiKey, Participant


def by_name(s: Session, name: str) -> Participant | None:
    return s.scalar(select(Participant).where(Participant.name == name))


def ids_by_name(s: Session, names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    return dict(s.execute(select(Participant.name, Participant.id).where(Participant.name.in_(names))).all())


def add(s: Session, name: str, role: str, key: KeyPair) -> Participant:
    p = Participant(name=name, role=role)
    s.add(p)
    s.flush()
    s.add(ApiKey(key_id=key.key_id, participant_id=p.id, salt=key.salt, secret_hash=key.secret_hash))
    return p


def add_key(s: Session, p: Participant, key: KeyPair) -> None:
    s.add(ApiKey(key_id=key.key_id, participant_id=p.id, salt=key.salt, secret_hash=key.secret_hash))


def listing(s: Session) -> list[Participant]:
    return list(s.scalars(select(Participant).order_by(Participant.id)))


def count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(Participant)) or 0
