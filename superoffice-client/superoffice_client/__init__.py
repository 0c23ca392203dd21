"""The SuperOffice HTTP client shared by tap-superoffice and target-superoffice: ticket auth, tenant discovery, retries and rate limits, error bodies, OData query building."""
