"""Shadows the real skoda connector when tests/fakes/carcloud_path comes first on PYTHONPATH."""
