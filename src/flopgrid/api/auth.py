"""Authentication as a typed dependency: `Authorization: Bearer <key>` -> `Caller`.

401 without a key or with an unknown one; `require(*roles)` answers 403 for any other role.
Keys are checked against the stored salted hash (`flopgrid.store.keys`); a verified key id is
cached in-process with its hash (never the key), so a request costs one SHA-256."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from flopgrid.api.errors import ApiError
from flopgrid.store.keys import split_key, verify_key
from flopgrid.store.models import ApiKey, Participant

bearer = HTTPBearer(auto_error=False, description="an API key from `flopgrid admin create-key`")


@dataclass(frozen=True)
class Caller:
    id: int
    name: str
    role: str

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


class KeyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, tuple[str, str, Caller]] = {}

    def get(self, key_id: str) -> tuple[str, str, Caller] | None:
        with self._lock:
            return self._by_id.get(key_id)

    def put(self, key_id: str, salt: str, secret_hash: str, caller: Caller) -> None:
        with self._lock:
            self._by_id[key_id] = (salt, secret_hash, caller)


def _unauthorized(msg: str) -> ApiError:
    return ApiError(401, msg)


def get_caller(request: Request,
               creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
    if creds is None or not creds.credentials:
        raise _unauthorized("missing API key (Authorization: Bearer <key>)")
    parts = split_key(creds.credentials)
    if parts is None:
        raise _unauthorized("unknown API key")
    key_id, secret = parts
    cache: KeyCache = request.app.state.key_cache
    hit = cache.get(key_id)
    if hit is None:
        with request.app.state.store.read() as s:
            row = s.get(ApiKey, key_id)
            if row is None:
                raise _unauthorized("unknown API key")
            p = s.get(Participant, row.participant_id)
            hit = (row.salt, row.secret_hash, Caller(p.id, p.name, p.role))
        cache.put(key_id, *hit)
    salt, secret_hash, caller = hit
    if not verify_key(secret, salt, secret_hash):
        raise _unauthorized("unknown API key")
    return caller


AnyCaller = Annotated[Caller, Depends(get_caller)]


def require(*roles: str):
    """A dependency: the caller, if its role is one of `roles`, else 403."""

    def _check(caller: AnyCaller) -> Caller:
        if caller.role not in roles:
            raise ApiError(403, f"role {caller.role!r} may not call this endpoint (allowed: {', '.join(roles)})")
        return caller

    return Depends(_check)


Operator = Annotated[Caller, require("operator")]


def own_name(caller: Caller, given: str | None, field: str) -> str:
    """A body's buyer / provider field must be the caller's own name (else 403)."""
    if given is not None and given != caller.name:
        raise ApiError(403, f"field {field!r}: {given!r} is not you ({caller.name!r})")
    return caller.name
