"""`python -m tap_customcrm`."""

from tap_customcrm.tap import TapCustomcrm

TapCustomcrm.cli()
