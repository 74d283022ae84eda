"""The meter service."""
