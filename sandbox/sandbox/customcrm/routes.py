"""The HTTP surface of the Customcrm emulator: parse the request, call the model,
serialise the answer. Every rule lives in `models.py`; every problem in `errors.py`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import Operation
from sandbox.customcrm import parsing
from sandbox.customcrm.contract import parameter_errors
from sandbox.customcrm.errors import InvalidParameterError, ProblemError
from sandbox.customcrm.models import CustomcrmModel
from sandbox.customcrm.rendering import etag
from sandbox.customcrm.resources import RESOURCES, Resource

__all__ = ["customcrm_routes"]

PREFIX = "/api/v1"
View = Callable[..., Response]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")


def _one(record: dict[str, Any], status: int = 200, location: str | None = None) -> Response:
    headers = {"ETag": etag(record)}
    if location:
        headers["Location"] = location
    return _json(record, status, headers)


def _location(resource: Resource, record: dict[str, Any]) -> str:
    if resource.parent:
        return f"{PREFIX}/quotes/{record['quote_id']}/lines/{record['id']}"
    return f"{PREFIX}/{resource.name}/{record['id']}"


class CustomcrmViews:
    """One method per kind of operation; `resource` is bound per route."""

    def __init__(self, model: CustomcrmModel, token: str) -> None:
        self.model = model
        self.token = token

    def guarded(self, view: View, path: str, method: str) -> View:
        """Check the token and the declared parameters, run the view, and render any
        problem as problem+json."""

        def answer(request: Request, **values: Any) -> Response:
            try:
                parsing.check_token(request, self.token)
                headers = {name.lower(): value for name, value in request.headers.items()}
                errors = parameter_errors(path, method, request.args, headers)
                if errors:
                    fields = ", ".join(e.field for e in errors)
                    raise InvalidParameterError(f"bad parameters: {fields}", errors=errors)
                return view(request, **values)
            except ProblemError as problem:
                return problem.response()

        return answer

    def list(self, resource: Resource, request: Request, id: str | None = None) -> Response:
        query = parsing.list_query(resource, request)
        items, cursor = self.model.list_records(resource, query, parent_id=id)
        return _json({"items": items, "next_cursor": cursor})

    def get(self, resource: Resource, request: Request, **ids: str) -> Response:
        record_id, parent_id = _ids(ids)
        return _one(self.model.get_record(resource, record_id, parent_id))

    def create(self, resource: Resource, request: Request, id: str | None = None) -> Response:
        body = parsing.json_body(request)
        if id is not None:
            self.model.get_record(RESOURCES["quotes"], id)  # 404 before anything else
        record, _ = self.model.create_record(
            resource,
            body,
            scope=f"POST {request.path}",
            idempotency_key=request.headers.get("Idempotency-Key"),
            parent_id=id,
        )
        return _one(record, 201, _location(resource, record))

    def update(self, resource: Resource, request: Request, **ids: str) -> Response:
        record_id, parent_id = _ids(ids)
        self.model.get_record(resource, record_id, parent_id)  # 404 before body problems
        patch = parsing.json_body(request)
        if_match = request.headers.get("If-Match")
        record = self.model.update_record(
            resource, record_id, patch, if_match=if_match, parent_id=parent_id
        )
        return _one(record)

    def delete(self, resource: Resource, request: Request, **ids: str) -> Response:
        record_id, parent_id = _ids(ids)
        if_match = request.headers.get("If-Match")
        record = self.model.delete_record(
            resource, record_id, if_match=if_match, parent_id=parent_id
        )
        return _one(record)


def _ids(values: dict[str, str]) -> tuple[str, str | None]:
    """(record id, parent quote id) from the URL values of a record or a line route."""
    if "line_id" in values:
        return values["line_id"], values["id"]
    return values["id"], None


def customcrm_routes(model: CustomcrmModel, token: str) -> Map:
    """The Werkzeug routes of the contract, each with its operation and write flag."""
    views = CustomcrmViews(model, token)
    rules = []
    for name in ("customers", "contacts", "products", "quotes", "quote_lines"):
        resource = RESOURCES[name]
        collection = f"{PREFIX}/quotes/<id>/lines" if resource.parent else f"{PREFIX}/{name}"
        member = f"{collection}/<line_id>" if resource.parent else f"{collection}/<id>"
        singular = resource.singular.replace(" ", "_")
        for path, method, verb, view, writes in (
            (collection, "GET", f"list_{name}", views.list, False),
            (collection, "POST", f"create_{singular}", views.create, True),
            (member, "GET", f"get_{singular}", views.get, False),
            (member, "PATCH", f"update_{singular}", views.update, True),
            (member, "DELETE", f"delete_{singular}", views.delete, True),
        ):
            template = path.replace("<", "{").replace(">", "}")
            bound = views.guarded(functools.partial(view, resource), template, method)
            operation = Operation(verb, bound, writes=writes)
            rules.append(Rule(path, methods=[method], endpoint=operation))
    # Every quote's lines in one feed, so a reader needs no request per quote.
    feed = f"{PREFIX}/quote-lines"
    bound = views.guarded(functools.partial(views.list, RESOURCES["quote_lines"]), feed, "GET")
    rules.append(Rule(feed, methods=["GET"], endpoint=Operation("list_all_quote_lines", bound)))
    return Map(rules, strict_slashes=False, merge_slashes=False)
