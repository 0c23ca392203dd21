"""The Singer glue both targets share: `SyncTarget` and `SyncSink` on the Meltano Singer SDK.

A target provides only its name and settings, `build_destination(config)`, and
`entity_specs` (stream name → EntitySpec); this module turns Singer records into
`Incoming`, feeds `Synchronizer.receive` per batch, drains parents first (also when a child's
sink fills up first), reads a pair of ACTIVATE_VERSION messages as a complete scan
(`Synchronizer.scanned`), calls `finish()` before the final STATE line, and prints the run
report to stderr. It is the only crmsync module that imports singer_sdk.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import typing as t
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import fastjsonschema
from singer_sdk import Target
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks import BatchSink, Sink
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator

from crmsync.crosswalk import Crosswalk
from crmsync.destination import Destination, SystemicError
from crmsync.records import EntitySpec, Incoming
from crmsync.settings import SyncSettings
from crmsync.sync import Synchronizer

__all__ = ["SkippedStreamSink", "SyncSink", "SyncTarget"]

_INVALID = "_crmsync_invalid"


class _KeepInvalid(BaseJSONSchemaValidator):
    """Marks a record that breaks the schema instead of stopping the run, so it is quarantined.

    A record fastjsonschema's compiled check passes is valid (0.005 ms a record; the SDK's
    jsonschema validator takes 0.15-0.2 ms, a fifth of target-customcrm's CPU on a load). A
    record it refuses is judged again by the SDK's validator, whose verdict and message stand:
    the fast check only ever saves work, it never decides alone that a record is bad.
    """

    def __init__(self, schema: dict[str, t.Any]) -> None:
        super().__init__(schema)
        self._inner = JSONSchemaValidator(schema)
        try:
            self._fast: Callable[[t.Any], t.Any] | None = fastjsonschema.compile(
                schema, use_formats=False
            )
        except fastjsonschema.JsonSchemaDefinitionException:
            self._fast = None  # a schema it cannot compile is checked by the SDK's alone

    def validate(self, record: dict[str, t.Any]) -> None:
        """Validate; on failure keep the reason in the record for the sink."""
        if self._fast is not None and _passes(self._fast, record):
            return
        try:
            self._inner.validate(record)
        except InvalidRecord as invalid:
            record[_INVALID] = f"schema: {invalid.error_message}"


def _passes(check: Callable[[t.Any], t.Any], record: Mapping[str, t.Any]) -> bool:
    try:
        check(record)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


@dataclass
class _Scan:
    """The records of one complete scan of a stream, between its two ACTIVATE_VERSIONs."""

    version: int
    present: set[tuple[str, str]] = field(default_factory=set)
    """(source system, id) of every record the scan brought, readable or quarantined."""
    whole: bool = True
    """False once a record without a readable id came: then no deletion is inferred."""


class SyncSink(BatchSink):
    """Hands each batch of one stream to the Synchronizer as `Incoming` records."""

    fail_on_record_validation_exception = False
    MAX_SIZE_DEFAULT = 2000
    """Records per batch unless `batch_size_rows` says otherwise. The SDK's 10,000 kept up to
    that many records of every stream in memory at once: target-customcrm peaked at 212 MB
    on 100k records, 129 MB with 2000, at the same speed (a batch's reads and writes go 100
    records per request either way)."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.sync_target = t.cast("SyncTarget", target)
        self._scan: _Scan | None = None

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """A validator that keeps schema failures for quarantine rather than aborting."""
        return _KeepInvalid(self.schema)

    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Read every record as Incoming, quarantine the unreadable ones, pass the batch on."""
        target = self.sync_target
        target.drain_parents(self)
        spec = target.entity_specs[self.stream_name]
        sync = target.synchronizer
        readable: list[Incoming] = []
        for record in context.get("records", []):
            problem = record.pop(_INVALID, None)
            try:
                incoming = target.to_incoming(self.stream_name, record)
            except (ValueError, TypeError, KeyError) as error:
                incoming, problem = _unreadable(target, record), f"unreadable record: {error}"
                if self._scan is not None:
                    self._scan.whole = False
            else:
                if self._scan is not None:
                    self._scan.present.add(incoming.key)
            if problem:
                sync.recipe.reject(spec, incoming, str(problem))
            else:
                readable.append(incoming)
        try:
            sync.receive(spec.name, readable)
        except SystemicError:
            sync.close("failed")
            raise

    def activate_version(self, new_version: int) -> None:
        """A complete scan of the stream is bounded by two ACTIVATE_VERSION messages of one
        version (tap-superoffice's `full_id_scan`): the first opens it, the second closes it.
        The linked records of the scanned system that the scan lacked were deleted there."""
        scan = self._scan
        if scan is None or scan.version != new_version:
            self._scan = _Scan(new_version)
            return
        self.sync_target.drain_one(self)  # the scan's last records may still wait in the batch
        self._scan = None
        systems = {system for system, _ in scan.present} or {
            self.sync_target.sync_settings.source_system
        } - {None, ""}
        if not scan.whole or len(systems) != 1:
            why = "a record had no readable id" if not scan.whole else "no single source system"
            self.logger.warning("%s: complete scan ignored (%s)", self.stream_name, why)
            return
        system = str(systems.pop())
        sync = self.sync_target.synchronizer
        spec = self.sync_target.entity_specs[self.stream_name]
        try:
            sync.scanned(spec.name, system, {record_id for _, record_id in scan.present})
        except SystemicError:
            sync.close("failed")
            raise


def _unreadable(target: SyncTarget, record: Mapping[str, t.Any]) -> Incoming:
    """A stand-in Incoming for a record without a usable id, keyed by its content."""
    text = json.dumps(record, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    system = str(record.get("_source_system") or target.sync_settings.source_system or "unknown")
    return Incoming(system, f"(no id) {digest}", None, {"record": json.loads(text)})


class SkippedStreamSink(BatchSink):
    """A stream the target does not sync (e.g. `meltano_test_stream`): counted, not written."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, t.Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        self.sync_target = t.cast("SyncTarget", target)

    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Count the records into the run report."""
        records = context.get("records", [])
        skipped = self.sync_target.synchronizer.report.skipped_streams
        skipped[self.stream_name] = skipped.get(self.stream_name, 0) + len(records)
        self.logger.warning(
            "skipping %d records of unsynced stream %s", len(records), self.stream_name
        )


class SyncTarget(Target):
    """A Singer target that writes through crmsync. Subclasses set `entity_specs` and
    implement `build_destination`; the crmsync settings join their config schema."""

    entity_specs: t.ClassVar[dict[str, EntitySpec]] = {}
    """Stream name → EntitySpec, in dependency order (parents first)."""
    default_sink_class = SyncSink
    id_field: t.ClassVar[str] = "id"
    version_field: t.ClassVar[str] = "updated_at"
    deleted_field: t.ClassVar[str | None] = None
    read_only_fields: t.ClassVar[tuple[str, ...]] = ()
    """The destination's own properties never written back (e.g. `created_at`)."""

    # State is only emitted at the end of input, after finish(): records held for the end
    # of the run (deletes) must not be bookmarked past. The SDK's timed drain would emit it.
    _MAX_RECORD_AGE_IN_MINUTES = float("inf")

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        schema = getattr(cls, "config_jsonschema", None)
        if isinstance(schema, dict):
            properties = schema.setdefault("properties", {})
            for name, setting in SyncSettings.json_schema().items():
                properties.setdefault(name, setting)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_parallelism = 1  # parents before children; concurrency lives inside a batch
        self._synchronizer: Synchronizer | None = None
        self._crosswalk: Crosswalk | None = None
        self._sinks_seen: list[Sink] = []
        self._sink_ids: set[int] = set()

    def build_destination(self, config: Mapping[str, t.Any]) -> Destination:
        """The Destination of this target's CRM (HTTP client, payloads)."""
        raise NotImplementedError(f"{type(self).__name__} must implement build_destination")

    @functools.cached_property
    def sync_settings(self) -> SyncSettings:
        """The crmsync settings from this target's config (read once: every record asks)."""
        return SyncSettings.from_config(self.config)

    @property
    def synchronizer(self) -> Synchronizer:
        """The run's Synchronizer, opened on first use (one per target process)."""
        if self._synchronizer is None:
            settings = self.sync_settings
            destination = self.build_destination(self.config)
            self._crosswalk = Crosswalk.connect(settings.crosswalk_url)
            leg = f"{settings.source_system or 'any'}->{destination.system}"
            self._synchronizer = Synchronizer(
                self._crosswalk,
                destination,
                settings=settings,
                specs=list(self.entity_specs.values()),
                leg=leg,
            )
        return self._synchronizer

    def to_incoming(self, stream_name: str, record: Mapping[str, t.Any]) -> Incoming:
        """Read one Singer record; override for a stream with other id/version fields."""
        return Incoming.from_record(
            record,
            default_system=self.sync_settings.source_system or "unknown",
            id_field=self.id_field,
            version_field=self.version_field,
            deleted_field=self.deleted_field,
            drop_fields=self.read_only_fields,
        )

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """SyncSink for synced streams, SkippedStreamSink for any other."""
        if stream_name in self.entity_specs:
            return self.default_sink_class
        return SkippedStreamSink

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict[str, t.Any] | None = None,
        schema: dict[str, t.Any] | None = None,
        key_properties: Sequence[str] | None = None,
    ) -> Sink:
        """Remember every sink, to drain them parents first at the end."""
        sink = super().get_sink(
            stream_name, record=record, schema=schema, key_properties=key_properties
        )
        if id(sink) not in self._sink_ids:
            self._sink_ids.add(id(sink))
            self._sinks_seen.append(sink)
        return sink

    def _rank(self, sink: Sink) -> int:
        """A sink's place in dependency order (parents first; unsynced streams last)."""
        names = list(self.entity_specs)
        return names.index(sink.stream_name) if sink.stream_name in names else len(names)

    def drain_parents(self, sink: Sink) -> None:
        """Drain the records the parents' sinks hold, before `sink`'s batch.

        The SDK drains a sink as soon as it is full (`SyncSink.MAX_SIZE_DEFAULT` records): a
        child stream drained before its parents' pending records would defer every child to
        the end of the run.
        """
        for parent in sorted(self._sinks_seen, key=self._rank):
            if self._rank(parent) < self._rank(sink) and parent.current_size:
                self.drain_one(parent)

    def _process_activate_version_message(self, message_dict: dict[str, t.Any]) -> None:
        """ACTIVATE_VERSION bounds a complete scan (`SyncSink.activate_version`); crmsync
        adds no `_sdc_` columns, so the SDK's warning about them does not apply."""
        for stream_map in self.mapper.stream_maps[message_dict["stream"]]:
            sink = self.get_sink(stream_map.stream_alias)
            if isinstance(sink, SyncSink):
                sink.activate_version(int(message_dict["version"]))

    def before_finish(self, sync: Synchronizer) -> None:
        """After the last batch, before `finish()`: what a target knows only once it has read
        everything (target-customcrm: the quote lines deleted in SuperOffice)."""

    def process_endofpipe(self) -> None:
        """Drain parents first, finish the run, print the report, then emit the final STATE."""
        for sink in sorted(self._sinks_seen, key=self._rank):
            self.drain_one(sink)
        if self._synchronizer is not None or self._sinks_seen:
            sync = self.synchronizer
            try:
                self.before_finish(sync)
                report = sync.finish()
            finally:
                print(sync.report.as_table(), file=sys.stderr)
                if self._crosswalk is not None:
                    self._crosswalk.close()
            self.logger.info("crmsync run %s: %s", report.run_id, json.dumps(report.as_dict()))
        super().process_endofpipe()
