"""`python -m target_superoffice`."""

from target_superoffice.target import TargetSuperOffice

TargetSuperOffice.cli()
