"""`RPi.GPIO` for a service process off the Pi: the fake module itself, so tests and service share state."""

import sys

from tests.fakes import gpio

sys.modules[__name__] = gpio
