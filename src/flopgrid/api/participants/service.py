"""Creating participants and keys (also what `flopgrid admin create-key` runs)."""

from __future__ import annotations

from flopgrid.api.errors import ApiError
from flopgrid.api.participants import repository
from flopgrid.api.participants.schemas import NewKey, ParticipantOut
from flopgrid.store import Store, new_key


def create_key(store: Store, name: str, role: str) -> NewKey:
    """A new key for `name` (created with `role` if new; an existing participant must have that role)."""
    key = new_key()
    with store.write() as s:
        p = repository.by_name(s, name)
        if p is None:
            p = repository.add(s, name, role, key)
        elif p.role != role:
            raise ApiError(409, f"participant {name!r} exists with role {p.role!r}, not {role!r}")
        else:
            repository.add_key(s, p, key)
        out = ParticipantOut.model_validate(p, from_attributes=True)
    return NewKey(key=key.key, participant=out)


def create_participant(store: Store, name: str, role: str) -> NewKey:
    with store.read() as s:
        if repository.by_name(s, name) is not None:
            raise ApiError(409, f"field 'name': participant {name!r} already exists")
    return create_key(store, name, role)


def list_participants(store: Store) -> list[ParticipantOut]:
    with store.read() as s:
        return [ParticipantOut.model_validate(p, from_attributes=True) for p in repository.listing(s)]
