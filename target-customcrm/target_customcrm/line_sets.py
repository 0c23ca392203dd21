"""Quote lines deleted in SuperOffice, found from the lines it still has.

SuperOffice keeps no trace of a deleted quote line, so no feed lists it. But tap-superoffice
reads every line of a quote alternative whose Sale moved, with the alternative, and gives the
alternative the ids of all its lines as read (`lineIds`, mapped to `_line_ids`; empty when its
last line was deleted). A Customcrm line of the linked quote whose SuperOffice partner is
missing from that set was deleted there: it goes to crmsync as a deletion marker, through the
same delete path (and circuit breaker) as any other delete.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any

from crmsync.crosswalk import Crosswalk
from crmsync.receipts import later, parse_timestamp
from crmsync.records import Incoming

from target_customcrm.destination import CustomcrmDestination

__all__ = ["LINE_IDS", "LineSets"]

LINE_IDS = "_line_ids"
"""The mapped property holding every line id of an alternative as read."""

SOURCE = "superoffice"


class LineSets:
    """The line sets of the alternatives read in this run (thread-safe)."""

    def __init__(self) -> None:
        self._sets: dict[str, tuple[set[str], dt.datetime | None]] = {}
        self._lock = threading.Lock()

    def note(self, alternative: Incoming, record: Mapping[str, Any]) -> None:
        """Keep the set of lines a SuperOffice alternative came with (as of its read)."""
        line_ids = record.get(LINE_IDS)
        if alternative.system != SOURCE or not isinstance(line_ids, list):
            return
        with self._lock:
            self._sets[alternative.id] = (
                {str(i) for i in line_ids},
                parse_timestamp(alternative.version),
            )

    def gone(self, crosswalk: Crosswalk, destination: CustomcrmDestination) -> list[Incoming]:
        """Deletion markers for the linked lines the sets lack.

        A line whose SuperOffice partner was written or read after the set was read (a line
        our other leg created meanwhile, say) is left alone: the set may predate it.
        """
        with self._lock:
            sets, self._sets = self._sets, {}
        if not sets:
            return []
        ours: dict[str, str] = {}  # Customcrm quote id -> SuperOffice alternative id
        for alternative, link in crosswalk.find_many("quote", SOURCE, list(sets)).items():
            quote = link.side(destination.system)
            if quote is not None:
                ours[quote.record_id] = alternative
        if not ours:
            return []
        by_quote = destination.quote_line_ids(list(ours))
        quote_of = {line_id: quote_id for quote_id, ids in by_quote.items() for line_id in ids}
        links = crosswalk.find_many("quote_line", destination.system, list(quote_of))
        markers: list[Incoming] = []
        for line_id, link in links.items():
            present, read_at = sets[ours[quote_of[line_id]]]
            partner = link.side(SOURCE)
            if read_at is None or partner is None or link.deleted:
                continue  # read_at None: when the set was read is unknown, nothing can be told
            if partner.record_id in present:
                continue
            if later(partner.receipt_version, read_at) or later(partner.seen_version, read_at):
                continue  # the set may predate it
            markers.append(Incoming(SOURCE, partner.record_id, None, {}, deleted=True))
        return markers
