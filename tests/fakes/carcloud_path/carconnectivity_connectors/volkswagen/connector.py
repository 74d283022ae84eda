"""The fake cloud's connector (tests/fakes/carcloud.py) in place of the real one, for a service process."""

import sys

from tests.fakes.carcloud import Connector

# This module is loaded while carconnectivity discovers its connectors; the library's clock check asks
# an NTP server, which a test machine cannot reach.
sys.modules["carconnectivity.carconnectivity"].ntp_time_delta = lambda: None  # type: ignore[attr-defined]

__all__ = ["Connector"]
