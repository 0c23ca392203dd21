"""Local emulators of the Customcrm reference API and the SuperOffice Web API, on loopback,
with SQLite persistence, seed data, fault injection and request counters."""
