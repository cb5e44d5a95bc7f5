"""Participant bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["operator", "provider", "buyer", "dispatcher"]


class ParticipantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    role: Role


class ParticipantOut(BaseModel):
    id: int
    name: str
    role: Role
    created_at: datetime


class NewKey(BaseModel):
    """The key is shown once; the store keeps only its salted hash."""

    key: str
    participant: ParticipantOut
