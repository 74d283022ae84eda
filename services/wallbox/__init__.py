"""The wallbox service."""
