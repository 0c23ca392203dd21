"""What both emulators share: the threaded loopback server, the control API, request
counters, fault injection, a strictly increasing clock and the seed world.

How an emulator plugs in (the Customcrm emulator in `sandbox.customcrm` is the example):

0. The emulator package (`sandbox.customcrm`, `sandbox.superoffice`) exposes
   `create_emulator(data_dir: Path, *, token: str) -> Emulator`; `sandbox.cli` and
   `sandbox.testing` import it lazily by name (see `sandbox.common.registry`).
1. A *model* holds state and rules (SQLite under the data dir) and satisfies `Model`:
   `reset(seed, seed_value)` wipes and seeds (seed = number of companies, from
   `sandbox.common.world.side_of_world`), `is_empty()`, `records(collection)` returns
   stored rows as dicts for tests (never counted), `close()` releases the database.
2. *Routes* are a Werkzeug `Map` whose rules have an `Operation` as endpoint:
   `Rule("/api/v1/customers/<id>", methods=["PATCH"], endpoint=Operation("update_customer",
   view, writes=True))`. `view(request, **url_values)` returns a `Response`. `writes` says
   whether a successful call changes state (never inferred from the method: SuperOffice
   quote-agent reads are POSTs). The emulator does its own auth inside its views.
3. An `Emulator` bundles `name`, `routes`, `model` and `render_error(status, message,
   headers)`, which renders an error the vendor's way (problem+json for Customcrm,
   `{Error, ErrorType, ErrorMessage, ErrorSource}` for SuperOffice). The wrapper uses it for
   injected 429/5xx faults, unknown paths (404) and wrong methods (405).
4. `SandboxApp(emulator, seed=..., seed_value=...)` is the WSGI app: it serves the control
   API under `/_sandbox/` (never counted, never faulted), counts every other request per
   method and route pattern (`GET /api/v1/customers/{id}`), counts `writes` (write
   operations answered below 400), and injects faults. `serve(app, port=0)` runs it on a
   threaded cheroot server (keep-alive connections) on 127.0.0.1 and returns a
   `RunningServer` (`.url`, `.stop()`).

Control API (docs/sync-contract.md): `POST /_sandbox/reset {"seed", "seed_value"}`,
`GET|DELETE /_sandbox/requests`, `GET|PUT /_sandbox/faults`.
"""

from sandbox.common.app import Emulator, Model, Operation, SandboxApp
from sandbox.common.clock import Clock
from sandbox.common.faults import FaultSettings
from sandbox.common.server import RunningServer, serve

__all__ = [
    "Clock",
    "Emulator",
    "FaultSettings",
    "Model",
    "Operation",
    "RunningServer",
    "SandboxApp",
    "serve",
]
