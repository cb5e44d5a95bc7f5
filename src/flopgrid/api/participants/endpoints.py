"""`/v1/participants` (operator)."""

from __future__ import annotations

from fastapi import APIRouter

from flopgrid.api.auth import Operator
from flopgrid.api.deps import StoreDep
from flopgrid.api.participants import service
from flopgrid.api.participants.schemas import NewKey, ParticipantIn, ParticipantOut

router = APIRouter(prefix="/v1/participants", tags=["participants"])


@router.post("", status_code=201, response_model=NewKey)
def create(body: ParticipantIn, store: StoreDep, _op: Operator) -> NewKey:
    """Register a participant; the answer carries its API key, shown once."""
    return service.create_participant(store, body.name, body.role)


@router.get("", response_model=list[ParticipantOut])
def listing(store: StoreDep, _op: Operator) -> list[ParticipantOut]:
    return service.list_participants(store)
