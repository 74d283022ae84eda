"""Fake devices that speak the real protocols over real sockets, for tests and for trying services by hand.

Each module starts alone, e.g. `python -m tests.fakes.goe --port 8081 --api v2`, or in-process from a test.
"""
