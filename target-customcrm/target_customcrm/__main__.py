"""`python -m target_customcrm`."""

from target_customcrm.target import TargetCustomcrm

TargetCustomcrm.cli()
