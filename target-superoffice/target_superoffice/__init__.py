"""Singer target for SuperOffice CRM."""
