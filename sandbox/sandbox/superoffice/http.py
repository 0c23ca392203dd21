"""HTTP plumbing the SuperOffice routes share: JSON bodies in and out, error bodies, rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import Operation

from .errors import BadRequestError, SoError

__all__ = ["View", "error_response", "json_response", "read_json", "rule"]

View = Callable[..., Response]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False)
    return Response(text, status=status, headers=headers, mimetype="application/json")


def error_response(error: SoError) -> Response:
    return json_response(error.body(), error.status, error.headers())


def read_json(request: Request) -> Any:
    """The JSON body, None when empty; a 400 when it is not JSON."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as failure:
        raise BadRequestError(f"Request body is not valid JSON: {failure}") from None
    except RecursionError:
        raise BadRequestError("Request body nests too deeply") from None


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON (RFC 8259), though Python's parser would take them."""
    raise ValueError(f"{name} is not a JSON value")


def rule(path: str, method: str, name: str, view: View, *, writes: bool = False) -> Rule:
    """A route whose endpoint is the `Operation` sandbox.common counts and faults."""
    return Rule(path, methods=[method], endpoint=Operation(name, view, writes))
