"""The ENTSO-E Transparency Platform's day-ahead prices (`GET /api?securityToken=&documentType=A44&
in_Domain=&out_Domain=&periodStart=yyyyMMddHHmm&periodEnd=`), answered from `tests.fakes.day_ahead`
(recorded response shape: a Publication_MarketDocument, one TimeSeries per delivery day (Berlin), its
Period with timeInterval in UTC, `resolution` PT60M or PT15M, curve type A03: a Point equal to the one
before is left out; no data: an Acknowledgement_MarketDocument with Reason code 999; a bad token: HTTP
401 HTML; a bad parameter: HTTP 400 with an Acknowledgement). Prices are known to the end of today
(Berlin) until `publish_tomorrow()`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tests.fakes.day_ahead import DayAheadFake, eur_per_mwh, midnight
from tests.fakes.http import Reply, Request, run_cli

TOKEN = "entsoe-test-token"
DE_LU = "10Y1001A1001A82H"
NS = "urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"
ACK_NS = "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"
XML = "application/xml"


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%MZ")


def _stamp(text: str) -> float:
    return datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=UTC).timestamp()


def acknowledgement(code: str, text: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<Acknowledgement_MarketDocument xmlns="{ACK_NS}">'
        f"<mRID>6e1d1d4b-8b1c-4c6c-9f0d-2c1f0b8a4e21</mRID><createdDateTime>2026-06-21T11:00:00Z"
        f"</createdDateTime><Reason><code>{code}</code><text>{text}</text></Reason>"
        f"</Acknowledgement_MarketDocument>"
    ).encode()


class FakeEntsoe(DayAheadFake):
    def __init__(self, clock: Callable[[], float] = time.time, port: int = 0, resolution: int = 60) -> None:
        super().__init__(clock, port)
        self.resolution = resolution  # minutes
        self.override: bytes | None = None

    def respond(self, request: Request) -> Reply:
        if request.path != "/api":
            return Reply(b"<html><body>Not Found</body></html>", 404, content_type="text/html")
        q = request.query
        if q.get("securityToken") != TOKEN:
            return Reply(b"<html><body><h1>Unauthorized</h1></body></html>", 401, content_type="text/html")
        required = ("documentType", "in_Domain", "out_Domain", "periodStart", "periodEnd")
        if any(name not in q for name in required) or q["documentType"] != "A44":
            return Reply(
                acknowledgement("999", "Mandatory parameters missing or wrong"), 400, content_type=XML
            )
        if self.override is not None:
            return Reply(self.override, content_type=XML)
        try:
            start, end = _stamp(q["periodStart"]), _stamp(q["periodEnd"])
        except ValueError:
            return Reply(acknowledgement("999", "Invalid periodStart or periodEnd"), 400, content_type=XML)
        until = min(end, midnight(self.clock(), days=2 if self.tomorrow else 1))
        days = []
        day = midnight(start)
        while day < until:
            following = midnight(day + 90000)
            if following > start:
                days.append((day, min(following, until)))
            day = following
        series = "".join(self._series(i + 1, a, b) for i, (a, b) in enumerate(days) if b > a)
        if not series:
            text = "No matching data found for Data item Day-ahead Prices [12.1.D] and interval"
            return Reply(acknowledgement("999", text), content_type=XML)
        body = (
            f'<?xml version="1.0" encoding="utf-8"?>\n<Publication_MarketDocument xmlns="{NS}">'
            f"<mRID>b2a9a3b0f9d74c5e8a4d2d7c3a6e1f00</mRID><revisionNumber>1</revisionNumber><type>A44</type>"
            f'<sender_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450'
            f"</sender_MarketParticipant.mRID>"
            f"<period.timeInterval><start>{_utc(days[0][0])}</start><end>{_utc(days[-1][1])}</end>"
            f"</period.timeInterval>{series}</Publication_MarketDocument>"
        )
        return Reply(body.encode(), content_type=XML)

    def _series(self, number: int, start: float, end: float) -> str:
        step = self.resolution * 60
        points = []
        last = None
        for position, at in enumerate(range(int(start), int(end), step), start=1):
            price = eur_per_mwh(at)
            if price != last:  # A03: a repeated price is left out
                points.append(
                    f"<Point><position>{position}</position><price.amount>{price}</price.amount></Point>"
                )
            last = price
        return (
            f"<TimeSeries><mRID>{number}</mRID><auction.type>A01</auction.type><businessType>A62</businessType>"
            f'<in_Domain.mRID codingScheme="A01">{DE_LU}</in_Domain.mRID>'
            f'<out_Domain.mRID codingScheme="A01">{DE_LU}</out_Domain.mRID>'
            f"<contract_MarketAgreement.type>A01</contract_MarketAgreement.type>"
            f"<currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name>"
            f"<curveType>A03</curveType><Period><timeInterval><start>{_utc(start)}</start><end>{_utc(end)}</end>"
            f"</timeInterval><resolution>PT{self.resolution}M</resolution>{''.join(points)}</Period></TimeSeries>"
        )


if __name__ == "__main__":
    run_cli("Fake ENTSO-E", 8097, lambda _: FakeEntsoe())
