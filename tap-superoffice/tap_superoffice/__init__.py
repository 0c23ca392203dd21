"""Singer tap for SuperOffice CRM."""
