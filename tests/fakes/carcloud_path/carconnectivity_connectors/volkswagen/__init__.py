"""Shadows the real volkswagen connector when tests/fakes/carcloud_path comes first on PYTHONPATH."""
