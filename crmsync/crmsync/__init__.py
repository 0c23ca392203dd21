"""The two-way sync engine both targets use, and the `crmsync` operator CLI."""
