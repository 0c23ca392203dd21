"""`CustomcrmSink`: crmsync's sink, plus one read of every match key a batch will ask for.

crmsync matches an unlinked record by its keys one record at a time; against Customcrm's
repeatable filters (`?email=a&email=b`) the whole batch's candidates come in one request per
100 keys instead, and crmsync's `match` calls are answered from that read. The sink decides
nothing about identity: crmsync still chooses among the candidates.
"""

from __future__ import annotations

import sys
import typing as t

from crmsync.normalise import normalise_key
from crmsync.singer import SyncSink

from target_customcrm.destination import MATCH_FILTERS, CustomcrmDestination

if t.TYPE_CHECKING:
    from crmsync.records import EntitySpec

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

__all__ = ["CustomcrmSink"]


class CustomcrmSink(SyncSink):
    """Primes the destination's match answers for the batch, then syncs it as crmsync does."""

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        spec = self.sync_target.entity_specs[self.stream_name]
        destination = self.sync_target.synchronizer.destination
        if isinstance(destination, CustomcrmDestination):
            for key, values in self._unmatched_keys(spec, context.get("records", [])).items():
                destination.prime(spec.name, key, values)
        super().process_batch(context)

    def _unmatched_keys(
        self, spec: EntitySpec, records: list[dict[str, t.Any]]
    ) -> dict[str, list[str]]:
        """The normalised match-key values of the batch's live records not linked yet."""
        keys = [key for key in spec.match_keys if (spec.name, key.field) in MATCH_FILTERS]
        wanted: dict[str, list[str]] = {key.field: [] for key in keys}
        if not keys:
            return {}
        crosswalk = self.sync_target.synchronizer.crosswalk
        for record in records:
            try:
                incoming = self.sync_target.to_incoming(self.stream_name, record)
            except (ValueError, TypeError, KeyError):
                continue  # crmsync quarantines it; nothing to match
            if incoming.deleted or crosswalk.is_linked(spec.name, incoming.system, incoming.id):
                continue
            for key in keys:
                value = normalise_key(key.normaliser, incoming.values.get(key.field))
                if value is not None:
                    wanted[key.field].append(value)
        return {field: list(dict.fromkeys(values)) for field, values in wanted.items() if values}
