"""Clean answers to bad input: a 422 whose details can always be rendered as JSON.

FastAPI echoes the rejected input in a 422. A body `NaN`, `Infinity` or `1e999` parses to a float JSON
cannot carry, and `"\\ud800"` to a string UTF-8 cannot carry, so the default handler itself failed with
a 500. The details are made JSON-safe here, and long inputs are cut.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

MAX_ECHO = 200  # characters of a rejected string shown back


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "nan", "inf", "-inf"
    if isinstance(value, str):
        cut = value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…"
        return cut.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


async def validation_error(_request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(status_code=422, content={"detail": json_safe(jsonable_encoder(errors))})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)
