"""Reading ENTSO-E's day-ahead price documents (XML, stdlib parser; defusedxml when installed).

The answer is read only when it is small and declares no DTD or entities (no entity expansion).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from pvcontrol.device import DeviceError
from pvcontrol.web_source import zoned_time
from services.tariff.device import Price

MAX_BYTES = 4_000_000  # a year of 15-minute prices is about 3 MB; two days far less
RESOLUTION = re.compile(r"^PT(\d+)M$")
MWH = 1000.0

try:
    from defusedxml.ElementTree import fromstring as _fromstring  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - depends on the installation
    _fromstring = ET.fromstring


def parse(body: bytes, status: int = 200) -> list[Price]:
    root = _root(body)
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reason = _text(root, "Reason/text") or _text(root, "Reason/code") or "no reason given"
        raise DeviceError(f"ENTSO-E: {reason}" + (f" (HTTP {status})" if status != 200 else ""))
    if status != 200:
        raise DeviceError(f"ENTSO-E: HTTP {status}")
    if kind != "Publication_MarketDocument":
        raise DeviceError(f"ENTSO-E: a {kind}, not a Publication_MarketDocument")
    series = [e for e in root if _local(e.tag) == "TimeSeries"]
    if not series:
        raise DeviceError("ENTSO-E: no TimeSeries in the document")
    found: list[tuple[float, list[Price]]] = []
    for ts in series:
        currency = _text(ts, "currency_Unit.name")
        unit = _text(ts, "price_Measure_Unit.name")
        if currency not in (None, "EUR") or unit not in (None, "MWH"):
            raise DeviceError(f"ENTSO-E: prices in {currency}/{unit}, not EUR/MWH")
        filled = _text(ts, "curveType") == "A03"
        for period in (e for e in ts if _local(e.tag) == "Period"):
            found.append(_period(period, filled))
    return _finest_first(found)


def _root(body: bytes) -> Any:
    if len(body) > MAX_BYTES:
        raise DeviceError(f"ENTSO-E: an answer of {len(body)} bytes is too large")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise DeviceError("ENTSO-E: the answer declares a DTD or entities")
    try:
        return _fromstring(body)
    except Exception as e:  # ParseError, or defusedxml's refusals
        raise DeviceError(f"ENTSO-E: not an XML document ({type(e).__name__})") from None


def _period(period: Any, filled: bool) -> tuple[float, list[Price]]:
    start = zoned_time(_text(period, "timeInterval/start"), "ENTSO-E:")
    end = zoned_time(_text(period, "timeInterval/end"), "ENTSO-E:")
    match = RESOLUTION.match(_text(period, "resolution") or "")
    if not match or int(match.group(1)) <= 0:
        raise DeviceError(f"ENTSO-E: resolution {_text(period, 'resolution')!r} is not PT<n>M")
    step = int(match.group(1)) * 60.0
    count = round((end - start) / step)
    if count <= 0 or count > 10_000 or start + count * step != end:
        raise DeviceError("ENTSO-E: timeInterval is not a whole number of resolution steps")
    amounts: dict[int, float] = {}
    for point in (e for e in period if _local(e.tag) == "Point"):
        try:
            position = int(_text(point, "position") or "")
            amount = float(_text(point, "price.amount") or "")
        except ValueError:
            raise DeviceError("ENTSO-E: a Point without a whole position and a price.amount") from None
        if not 1 <= position <= count or position in amounts:
            raise DeviceError(f"ENTSO-E: Point position {position} outside 1..{count} or repeated")
        amounts[position] = amount
    prices: list[Price] = []
    last: float | None = None
    for position in range(1, count + 1):
        if position in amounts:
            last = amounts[position]
        elif not filled or last is None:
            raise DeviceError(f"ENTSO-E: no price at position {position}")
        # else A03: a point left out repeats the one before
        amount = last
        at = start + (position - 1) * step
        prices.append(Price(at, at + step, amount / MWH))
    return step, prices


def _finest_first(found: list[tuple[float, list[Price]]]) -> list[Price]:
    """Every period's prices where no finer resolution (or an earlier series of the same) covers them."""
    kept: list[Price] = []
    for _, prices in sorted(found, key=lambda item: item[0]):
        for price in prices:
            if not any(price.start < k.end and k.start < price.end for k in kept):
                kept.append(price)
    return sorted(kept, key=lambda p: p.start)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: Any, path: str) -> str | None:
    """The text at `path` (local names, `/` between them), namespaces ignored."""
    current = element
    for name in path.split("/"):
        current = next((child for child in current if _local(child.tag) == name), None)
        if current is None:
            return None
    text = current.text
    return text.strip() if isinstance(text, str) else None
