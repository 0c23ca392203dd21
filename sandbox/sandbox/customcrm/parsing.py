"""Reads what a client sent: the bearer token, the JSON body and the list parameters,
turning anything malformed into the contract's problem. Decides nothing about records."""

from __future__ import annotations

import hmac
import json
from typing import Any

from werkzeug.wrappers import Request

from sandbox.common.clock import format_timestamp, parse_timestamp
from sandbox.customcrm.errors import (
    InvalidParameterError,
    MalformedRequestError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from sandbox.customcrm.resources import Resource, decode_cursor, normalise
from sandbox.customcrm.store import ListQuery

__all__ = ["MAX_BODY_BYTES", "check_token", "json_body", "list_query"]

MAX_BODY_BYTES = 1024 * 1024
MAX_IDS = 100
MAX_LIMIT = 500


def check_token(request: Request, token: str) -> None:
    """The request must carry `Authorization: Bearer <token>` (compared in constant time)."""
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise UnauthorizedError("send Authorization: Bearer <token>")
    if not hmac.compare_digest(presented.strip().encode(), token.encode()):
        raise UnauthorizedError("the bearer token is not valid")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_body(request: Request) -> Any:
    """The parsed JSON body (any JSON value; the schema check comes later)."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the body must be at most {MAX_BODY_BYTES} bytes")
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        shown = mimetype or "none"
        raise UnsupportedMediaTypeError(f"send Content-Type: application/json (got {shown})")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as error:
        raise MalformedRequestError(f"the body is not valid JSON: {error}") from error


def list_query(resource: Resource, request: Request) -> ListQuery:
    """The list parameters of `request`, checked; match-key values normalised."""
    args = request.args
    lookups: dict[str, tuple[str, ...]] = {}
    for key in ("email", "org_number", "sku"):
        if key in args:
            if key not in resource.lookups:
                raise InvalidParameterError(f"{resource.name} cannot be looked up by {key}")
            lookups[key] = _lookup_values(key, args.getlist(key))
    return ListQuery(
        updated_since=_timestamp(args.get("updated_since")),
        include_deleted=_boolean("include_deleted", args.get("include_deleted")),
        limit=_limit(args.get("limit")),
        after=_cursor(args.get("cursor")),
        ids=_ids(args.get("ids")),
        external_id=_external_id(args.get("external_id")),
        lookups=lookups,
    )


def _timestamp(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return format_timestamp(parse_timestamp(text.upper()))
    except (ValueError, OverflowError) as error:
        raise InvalidParameterError("updated_since must be an ISO-8601 date-time") from error


def _boolean(name: str, text: str | None) -> bool:
    if text is None:
        return False
    if text not in ("true", "false"):
        raise InvalidParameterError(f"{name} must be true or false")
    return text == "true"


def _limit(text: str | None) -> int:
    if text is None:
        return 100
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidParameterError(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(text)


def _cursor(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    try:
        return decode_cursor(text)
    except ValueError as error:
        raise InvalidParameterError(str(error)) from error


def _lookup_values(key: str, values: list[str]) -> tuple[str, ...]:
    """A match key given once, or repeated up to `MAX_IDS` times (any may match), normalised."""
    if len(values) > MAX_IDS:
        raise InvalidParameterError(f"{key} may be given at most {MAX_IDS} times")
    return tuple(dict.fromkeys(normalise(key, value) or "" for value in values))


def _ids(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    ids = tuple(text.split(","))
    if not all(ids):
        raise InvalidParameterError("ids must be a comma-separated list of ids")
    if len(ids) > MAX_IDS:
        raise InvalidParameterError(f"ids takes at most {MAX_IDS} ids")
    return ids


def _external_id(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    system, _, value = text.partition(":")
    if not system or not value:
        raise InvalidParameterError("external_id must look like <system>:<value>")
    return system, value
