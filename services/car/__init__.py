"""The car service."""
