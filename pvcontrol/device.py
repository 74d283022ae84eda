"""What every device adapter shares."""


class DeviceError(Exception):
    """A read or write of a device failed (timeout, bad answer, unknown code). The service counts it."""
