"""The Customcrm HTTP client shared by tap-customcrm and target-customcrm: auth, retries, errors."""
