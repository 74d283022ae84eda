"""What every device adapter shares."""

import math


class DeviceError(Exception):
    """A read or write of a device failed (timeout, bad answer, unknown code). The service counts it."""


def json_number(value: object, what: str) -> float:
    """A number from a device's JSON answer; a bool, string or object there is a bad answer."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DeviceError(f"{what}={value!r} is not a number")
    return float(value)


def finite_json_number(value: object, what: str) -> float:
    """As `json_number`, and NaN or an infinity (which Python's JSON parser lets through) is a bad answer
    too: for web sources whose numbers no plausibility check follows."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DeviceError(f"{what} {value!r} is not a number")
    return float(value)
