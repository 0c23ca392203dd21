"""The two-way sync engine both targets use, and the `crmsync` operator CLI.

crosswalk = Crosswalk.connect(settings.crosswalk_url)
sync = Synchronizer(crosswalk, destination, settings=settings, specs=SPECS, leg="a->b")
sync.receive("person", [Incoming(...), ...])
report = sync.finish()
"""

from crmsync.crosswalk import Crosswalk, Link, Member
from crmsync.deletes import DeleteCircuitBreakerError
from crmsync.merge import FieldConflict, Merged, Policy, merge
from crmsync.recipe import Outcome
from crmsync.records import EntitySpec, Incoming, MatchKey, Reference
from crmsync.report import RunReport
from crmsync.settings import SyncSettings
from crmsync.sync import Synchronizer

__all__ = [
    "Crosswalk",
    "DeleteCircuitBreakerError",
    "EntitySpec",
    "FieldConflict",
    "Incoming",
    "Link",
    "MatchKey",
    "Member",
    "Merged",
    "Outcome",
    "Policy",
    "Reference",
    "RunReport",
    "SyncSettings",
    "Synchronizer",
    "merge",
]
