"""What every device adapter shares."""


class DeviceError(Exception):
    """A read or write of a device failed (timeout, bad answer, unknown code). The service counts it."""


def json_number(value: object, what: str) -> float:
    """A number from a device's JSON answer; a bool, string or object there is a bad answer."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DeviceError(f"{what}={value!r} is not a number")
    return float(value)
