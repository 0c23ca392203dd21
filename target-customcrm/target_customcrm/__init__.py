"""Singer target for Customcrm."""
