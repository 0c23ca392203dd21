"""The HTTP surface of the emulated SuperOffice Web API: parse the request, call the model,
serialise the answer. No rules live here (see models.py, quotes.py, archive.py, auth.py).

Every tenant route sits under `/{endpoint}/api/v1/` where `{endpoint}` is the tenant's current
endpoint path (`Cust12345`, or `sod2/Cust12345` after a move); a stale one answers 421.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from werkzeug.http import http_date, parse_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.clock import parse_timestamp

from .archive import ArchiveQuery, query_archive
from .auth import Authenticator
from .errors import BadRequestError, MethodNotAllowedError, NotFoundError, SoError
from .http import View, error_response, json_response, read_json, rule
from .lists import mdo_list
from .login import LoginRoutes
from .models import KINDS, SuperOfficeModel
from .tenancy import Tenancy

__all__ = ["SuperOfficeRoutes"]

API = "/<path:endpoint>/api/v1"


def _header_moment(request: Request, name: str) -> datetime | None:
    """An HTTP-date header (RFC 9110), or an ISO-8601 moment for convenience."""
    value = request.headers.get(name)
    if not value:
        return None
    moment = parse_date(value)
    if moment is None:
        try:
            moment = parse_timestamp(value)
        except ValueError:
            raise BadRequestError(f"{name} is not an HTTP date: '{value[:60]}'") from None
    return moment


def _not_after(changed: datetime, since: datetime) -> bool:
    """`changed <= since`, at whole seconds when `since` came as an HTTP date."""
    return (changed.replace(microsecond=0) if since.microsecond == 0 else changed) <= since


def _select(body: dict[str, Any], select: str | None) -> dict[str, Any]:
    """`?$select=` on an entity: unlisted top-level properties are nulled out."""
    if not select:
        return body
    wanted = {part.strip().split("/")[0].lower() for part in select.split(",")}
    return {k: (v if k.lower() in wanted else None) for k, v in body.items()}


class SuperOfficeRoutes:
    """Builds the Werkzeug `Map` whose endpoints are `Operation`s."""

    def __init__(self, model: SuperOfficeModel, auth: Authenticator, tenancy: Tenancy) -> None:
        self.model = model
        self.auth = auth
        self.tenancy = tenancy

    def tenant(self, view: View) -> View:
        """Wrap a tenant view: 421/404 on a wrong endpoint, 401 without credentials."""

        def guarded(request: Request, endpoint: str, **values: Any) -> Response:
            try:
                self.tenancy.check(endpoint, request.host)
                self.auth.check({k.lower(): v for k, v in request.headers.items()})
                return view(request, **values)
            except SoError as error:
                return error_response(error)

        return guarded

    def build(self) -> Map:
        rules = [*self._entity_rules(), *self._archive_rules(), *self._agent_rules()]
        rules.append(rule(f"{API}/MDOList/<name>", "GET", "GetMDOList", self.tenant(self.mdo_list)))
        rules += self._foreign_key_rules() + LoginRoutes(self.auth, self.tenancy).rules()
        return Map(rules, strict_slashes=False, merge_slashes=False)

    # -- entities ------------------------------------------------------------------------------

    def _entity_rules(self) -> list[Rule]:
        rules = []
        for kind, spec in KINDS.items():
            path, name = f"{API}/{spec.name}", spec.name
            ops: list[tuple[str, str, str, View, bool]] = [
                ("", "GET", f"Get{name}List", partial(self.archive_list, provider=name), False),
                ("/default", "GET", f"Default{name}", partial(self.default, kind), False),
                ("", "POST", f"Post{name}", partial(self.post, kind), True),
                ("/<int:record_id>", "GET", f"Get{name}", partial(self.get, kind), False),
                ("/<int:record_id>", "PUT", f"Put{name}", partial(self.put, kind), True),
                ("/<int:record_id>", "PATCH", f"Patch{name}", partial(self.patch, kind), True),
                ("/<int:record_id>", "DELETE", f"Delete{name}", partial(self.delete, kind), True),
                ("/<int:record_id>/ForeignKey", "GET", f"GetAllForeignKeysOn{name}",
                 partial(self.foreign_keys, kind), False),
            ]  # fmt: skip
            for suffix, method, op, view, writes in ops:
                rules.append(rule(path + suffix, method, op, self.tenant(view), writes=writes))
        return rules

    def archive_list(self, request: Request, provider: str) -> Response:
        args = request.args
        query = ArchiveQuery(
            select=args.get("$select"),
            filter=args.get("$filter"),
            orderby=args.get("$orderby") or args.get("$orderBy"),
            top=args.get("$top"),
            skip=args.get("$skip"),
        )
        return json_response(query_archive(self.model.store, provider, query, request.url))

    def default(self, kind: str, request: Request) -> Response:
        return json_response(self.model.default_entity(kind))

    def get(self, kind: str, request: Request, record_id: int) -> Response:
        body, changed = self.model.get_entity(kind, record_id)
        since = _header_moment(request, "If-Modified-Since")
        if since is not None and _not_after(changed, since):
            return Response(status=304, headers={"Last-Modified": http_date(changed)})
        if request.args.get("fk", "").lower() == "true" and "ExtraFields" in body:
            body["ExtraFields"] = self.model.foreign_keys.keys_of_record(kind, record_id)
        body = _select(body, request.args.get("$select"))
        return json_response(body, headers={"Last-Modified": http_date(changed)})

    def post(self, kind: str, request: Request) -> Response:
        incoming = read_json(request)
        if incoming is None:
            raise BadRequestError("Entity to save is not in request body")
        return self._saved(kind, self.model.save_entity(kind, incoming))

    def put(self, kind: str, request: Request, record_id: int) -> Response:
        incoming = read_json(request)
        if incoming is None:
            raise BadRequestError("Entity to save is not in request body")
        since = _header_moment(request, "If-Unmodified-Since")
        return self._saved(kind, self.model.save_entity(kind, incoming, record_id, since))

    def patch(self, kind: str, request: Request, record_id: int) -> Response:
        if not KINDS[kind].patchable:
            # ASP.NET Web API: no PATCH action on ProductController -> 405 with Allow.
            raise MethodNotAllowedError("PATCH", ["GET", "PUT", "DELETE"])
        changes = read_json(request)
        since = _header_moment(request, "If-Unmodified-Since")
        body = self.model.patch_entity(kind, record_id, changes, since)
        return self._saved(kind, _select(body, request.args.get("$select")))

    def delete(self, kind: str, request: Request, record_id: int) -> Response:
        since = _header_moment(request, "If-Unmodified-Since")
        self.model.delete_entity(kind, record_id, since)
        return Response(status=204)

    def foreign_keys(self, kind: str, request: Request, record_id: int) -> Response:
        """`{"app.device.keyname": value}` of a record (docs: Person/{id}/ForeignKey)."""
        self.model.get_entity(kind, record_id)
        return json_response(self.model.foreign_keys.keys_of_record(kind, record_id))

    def _saved(self, kind: str, body: dict[str, Any]) -> Response:
        _, changed = self.model.get_entity(kind, int(body[KINDS[kind].id_field]))
        return json_response(body, headers={"Last-Modified": http_date(changed)})

    def mdo_list(self, request: Request, name: str) -> Response:
        """`GET /MDOList/{name}` (`?flat=` is accepted; every list here is flat)."""
        items = mdo_list(name)
        if items is None:
            raise NotFoundError(f"MDO list '{name[:40]}' not found")
        return json_response(items)

    # -- archives ------------------------------------------------------------------------------

    def _archive_rules(self) -> list[Rule]:
        view = self.tenant(self.archive_provider)
        return [
            rule(f"{API}/{word}/<provider>", "GET", "GetArchive", view)
            for word in ("Archive", "archive")
        ]

    def archive_provider(self, request: Request, provider: str) -> Response:
        return self.archive_list(request, provider)

    # -- the quote agent -----------------------------------------------------------------------

    def _agent_rules(self) -> list[Rule]:
        agent = self.model.quotes
        methods: dict[str, tuple[Callable[[dict[str, Any]], Any], bool]] = {
            "CreateAndSaveQuote": (agent.create_and_save_quote, True),
            "GetQuoteEntity": (agent.get_quote_entity, False),
            "GetQuoteFromSaleId": (agent.get_quote_from_sale_id, False),
            "GetQuoteEntityFromSaleId": (agent.get_quote_entity_from_sale_id, False),
            "GetQuoteVersion": (agent.get_quote_version, False),
            "GetQuoteVersions": (agent.get_quote_versions, False),
            "SaveQuoteVersion": (agent.save_quote_version, True),
            "GetQuoteAlternative": (agent.get_quote_alternative, False),
            "GetQuoteAlternatives": (agent.get_quote_alternatives, False),
            "CreateQuoteAlternative": (agent.create_quote_alternative, True),
            "SaveQuoteAlternative": (agent.save_quote_alternative, True),
            "DeleteQuoteAlternative": (agent.delete_quote_alternative, True),
            "GetQuoteLines": (agent.get_quote_lines, False),
            "GetQuoteLine": (agent.get_quote_line, False),
            "CreateQuoteLine": (agent.create_quote_line, False),
            "SaveQuoteLine": (agent.save_quote_line, True),
            "DeleteQuoteLine": (agent.delete_quote_line, True),
        }
        return [
            rule(
                f"{API}/Agents/Quote/{name}",
                "POST",
                name,
                self.tenant(partial(self.agent_call, method)),
                writes=writes,
            )
            for name, (method, writes) in methods.items()
        ]

    def agent_call(self, method: Callable[[dict[str, Any]], Any], request: Request) -> Response:
        """Agent parameters come as a JSON object; query-string parameters count too."""
        body = read_json(request)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise BadRequestError("Agent request body must be a JSON object")
        result = method({**body, **request.args.to_dict()})
        return Response(status=204) if result is None else json_response(result)

    # -- foreign keys --------------------------------------------------------------------------

    def _foreign_key_rules(self) -> list[Rule]:
        keys = self.model.foreign_keys
        base = f"{API}/ForeignApp/<app>/<device>"
        save = self.tenant(self.save_foreign_key)

        def by_record(
            request: Request, app: str, device: str, key: str, table: str, record_id: int
        ) -> Response:
            return json_response(keys.get_key(app, device, key, table, record_id))

        def by_value(request: Request, app: str, device: str, key: str, table: str) -> Response:
            value = request.args.get("keyValue")
            if value is None:
                raise BadRequestError("Query parameter keyValue is required")
            return json_response(keys.get_key_by_value(app, device, key, table, value))

        def delete(
            request: Request,
            app: str,
            device: str,
            identifier: str,
            key: str,
            table: str,
            record_id: int,
        ) -> Response:
            keys.delete_key(app, device, identifier, key, table, record_id)
            return Response(status=204)

        return [
            rule(f"{base}/<identifier>/Key", "POST", "AddForeignKey", save, writes=True),
            rule(f"{base}/<identifier>/Key", "PUT", "SaveForeignKey", save, writes=True),
            rule(f"{base}/Key/<key>/<table>/<int:record_id>", "GET", "GetKey",
                  self.tenant(by_record)),
            rule(f"{base}/Key/<key>/<table>", "GET", "GetKeyByValue", self.tenant(by_value)),
            rule(f"{base}/<identifier>/Key/<key>/<table>/<int:record_id>", "DELETE",
                  "DeleteForeignKey", self.tenant(delete), writes=True),
        ]  # fmt: skip

    def save_foreign_key(
        self, request: Request, app: str, device: str, identifier: str
    ) -> Response:
        body = read_json(request)
        return json_response(
            self.model.foreign_keys.save_foreign_key(app, device, identifier, body)
        )
