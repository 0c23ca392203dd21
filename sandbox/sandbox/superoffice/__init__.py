"""An emulator of the SuperOffice CRM Web API (REST v1), moto style.

`create_emulator(data_dir, token=...)` is what `sandbox.cli` and `sandbox.testing` call. The
model (models.py, quotes.py, foreignkeys.py, archive.py) keeps the state and rules in SQLite
under `data_dir`; routes.py is the HTTP surface; auth.py and tenancy.py decide who may call
and where the tenant lives. Every known difference from the real service is in README.md.

The tenant is `Cust12345` at `/Cust12345/api/v1/`. Every secret equals the sandbox `token`:
the application token (`SO-AppToken`, client secret), the system user token, the OAuth
refresh token, the Basic password (any user name), and a static Bearer access token.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from werkzeug.wrappers import Response

from sandbox.common.clock import Clock

from .auth import Authenticator, SandboxCredentials
from .errors import SoError
from .http import json_response
from .models import SuperOfficeModel
from .routes import SuperOfficeRoutes
from .seed import seed_tenant
from .tenancy import Tenancy

__all__ = [
    "CONTEXT",
    "SuperOfficeEmulator",
    "SuperOfficeModel",
    "SuperOfficeTenant",
    "create_emulator",
]

CONTEXT = "Cust12345"
CLIENT_ID = "sandbox-client"
COLLECTIONS = {
    "persons": "person",
    "contacts": "contact",
    "products": "product",
    "sales": "sale",
    "quotes": "quote",
    "quote_versions": "quote_version",
    "quote_alternatives": "quote_alternative",
    "quote_lines": "quote_line",
}
_ERROR_TYPES = {404: "NotFound", 405: "HttpMethodNotAllowed", 429: "TooManyRequests"}


class SuperOfficeTenant(SuperOfficeModel):
    """The model plus what `sandbox.common` asks of every model (reset, records, close)."""

    def reset(self, seed: int = 0, seed_value: int = 0) -> None:
        """Wipe, then seed `seed` companies of world `seed_value`."""
        super().reset()
        if seed:
            seed_tenant(self, seed, seed_value)

    def is_empty(self) -> bool:
        return not self.store.query("SELECT 1 FROM record LIMIT 1")

    def records(self, collection: str) -> list[dict[str, Any]]:
        """Stored rows (deleted included) with `_id`, `_created`, `_updated`, `_deleted`."""
        kind = COLLECTIONS.get(collection, collection)
        rows = self.store.query("SELECT id FROM record WHERE kind = ? ORDER BY id", (kind,))
        found = [self.store.get(kind, r["id"]) for r in rows]
        return [
            {
                **row.body,
                "_id": row.id,
                "_created": row.created,
                "_updated": row.updated,
                "_deleted": row.deleted,
            }
            for row in found
            if row is not None
        ]

    def close(self) -> None:
        self.store.close()


class SuperOfficeEmulator:
    """What `sandbox.common.SandboxApp` serves: name, routes, model, vendor-shaped errors."""

    name = "superoffice"

    def __init__(self, model: SuperOfficeTenant, auth: Authenticator, tenancy: Tenancy) -> None:
        self.model = model
        self.auth = auth
        self.tenancy = tenancy
        self.routes = SuperOfficeRoutes(model, auth, tenancy).build()

    def render_error(self, status: int, message: str, headers: Any) -> Response:
        error = SoError(message)
        error.status = status
        error.error_type = _ERROR_TYPES.get(
            status, "ServiceUnavailable" if status == 503 else "Exception"
        )
        return json_response(error.body(), status, dict(headers))


def create_emulator(data_dir: Path, *, token: str) -> SuperOfficeEmulator:
    """The SuperOffice emulator on `data_dir/superoffice.sqlite3`; all secrets are `token`."""
    model = SuperOfficeTenant(data_dir / "superoffice.sqlite3", Clock())
    credentials = SandboxCredentials(
        context=CONTEXT,
        client_id=CLIENT_ID,
        client_secret=token,
        system_user_token=token,
        refresh_token=token,
        basic_password=token,
    )
    return SuperOfficeEmulator(model, Authenticator(credentials), Tenancy(CONTEXT))
