"""HTTP errors (DESIGN.md "Service"): `{"detail": "..."}` naming the field (422), the rule
(409), or nothing that leaks (404). One handler maps the library's UserInputError to 422."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from flopgrid.errors import UserInputError

log = logging.getLogger("flopgrid.api")


class ErrorOut(BaseModel):
    detail: str


class ApiError(Exception):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code, self.detail = status_code, detail


def not_found(kind: str, oid: object) -> ApiError:
    return ApiError(404, f"{kind} {oid!r} not found")


def conflict(detail: str) -> ApiError:
    return ApiError(409, detail)


def invalid(field: str, msg: str) -> ApiError:
    return ApiError(422, f"field {field!r}: {msg}")


ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorOut, "description": what} for code, what in (
        (401, "missing or unknown API key"), (403, "this role may not call this endpoint"),
        (404, "not found (or another participant's)"), (409, "a market rule refuses it now"),
        (422, "invalid body or parameter: the detail names the field"))}


def _field_message(exc: RequestValidationError) -> str:
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ())]
    if loc and loc[0] in ("body", "query", "path", "header"):
        loc = loc[1:] if len(loc) > 1 else loc
    msg = "missing" if err.get("type") == "missing" else err.get("msg", "invalid")
    return f"field {'.'.join(loc) or 'body'!r}: {msg}"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_req: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _field_message(exc)}, status_code=422)

    @app.exception_handler(UserInputError)
    async def _user_input(_req: Request, exc: UserInputError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)


def patch_openapi(schema: dict) -> dict:
    """Our 422 body is ErrorOut (a string naming the field), not FastAPI's list form."""
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    comps["HTTPValidationError"] = {"title": "HTTPValidationError", "type": "object",
                                    "properties": {"detail": {"type": "string", "title": "Detail"}},
                                    "required": ["detail"]}
    comps.pop("ValidationError", None)
    return schema
