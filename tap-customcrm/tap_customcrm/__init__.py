"""Singer tap for Customcrm."""
