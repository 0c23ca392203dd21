"""The HTTP surface of the Customcrm emulator: parse the request, call the model,
serialise the answer. Every rule lives in `models.py`; every problem in `errors.py`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.app import Operation
from sandbox.customcrm import parsing
from sandbox.customcrm.contract import parameter_errors
from sandbox.customcrm.errors import InvalidParameterError, ProblemError
from sandbox.customcrm.models import (
    BatchItem,
    CustomcrmModel,
    batch_items,
    quote_line_of_batch,
)
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
    return f"{_collection(resource, record.get('quote_id'))}/{record['id']}"


def _collection(resource: Resource, quote_id: str | None = None) -> str:
    """The path a record of `resource` is created at (a line's: its quote's `lines`)."""
    if resource.parent:
        return f"{PREFIX}/quotes/{quote_id}/lines"
    return f"{PREFIX}/{resource.name}"


def _check_parameters(
    path: str, method: str, query: Mapping[str, str], headers: Mapping[str, str]
) -> None:
    """400 `invalid-parameter` when the query or headers break what `method path` declares."""
    errors = parameter_errors(path, method, query, headers)
    if errors:
        fields = ", ".join(e.field for e in errors)
        raise InvalidParameterError(f"bad parameters: {fields}", errors=errors)


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
                _check_parameters(path, method, request.args, headers)
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
        record = self._create(resource, body, request.headers.get("Idempotency-Key"), id)
        return _one(record, 201, _location(resource, record))

    def create_batch(self, resource: Resource, request: Request) -> Response:
        """Each item is created as its own single POST would be; a refused item gets that
        POST's problem in its place and the others go on (a batch is not atomic)."""
        items = batch_items(parsing.json_body(request))
        with self.model.batch():
            results = [self._create_item(resource, item) for item in items]
        return _json({"results": results})

    def _create_item(self, resource: Resource, item: BatchItem) -> dict[str, Any]:
        """One batch item, checked and answered as its single POST would be."""
        try:
            body, quote_id = item.record, None
            if resource.parent:
                quote_id, body = quote_line_of_batch(item.record)
            if item.idempotency_key is not None:
                header = {"idempotency-key": item.idempotency_key}
                _check_parameters(_collection(resource, "{id}"), "POST", {}, header)
            record = self._create(resource, body, item.idempotency_key, quote_id)
        except ProblemError as problem:
            return {"status": problem.status, "problem": problem.body()}
        return {"status": 201, "record": record}

    def _create(
        self, resource: Resource, body: Any, idempotency_key: str | None, quote_id: str | None
    ) -> dict[str, Any]:
        """A create as its single POST answers it; the key is scoped to that POST's path, so
        a batch item and a single POST with the same key are one create."""
        if quote_id is not None:
            self.model.get_record(RESOURCES["quotes"], quote_id)  # 404 before anything else
        record, _ = self.model.create_record(
            resource,
            body,
            scope=f"POST {_collection(resource, quote_id)}",
            idempotency_key=idempotency_key,
            parent_id=quote_id,
        )
        return record

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
        collection = _collection(resource, "<id>")
        member = f"{collection}/<line_id>" if resource.parent else f"{collection}/<id>"
        batch = f"{PREFIX}/{name.replace('_', '-')}/batch"  # lines: /quote-lines/batch
        singular = resource.singular.replace(" ", "_")
        for path, method, verb, view, writes in (
            (collection, "GET", f"list_{name}", views.list, False),
            (collection, "POST", f"create_{singular}", views.create, True),
            (batch, "POST", f"create_{name}_batch", views.create_batch, True),
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
