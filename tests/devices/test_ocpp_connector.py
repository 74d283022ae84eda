"""The OCPP connector's state without a socket: tables of charge point events (each at a time on a fake
clock), folded by `Connector`, and the `WallboxData` it reads with what we offered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from pvcontrol.models import CarStatus, WbError
from services.wallbox.device import Measurements
from services.wallbox.ocpp_connector import Connector, Offer
from services.wallbox.ocpp_protocol import OcppDataError

VOLTS = 230.0
OFFER = Offer(current=10, phases=3, allowed=True)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


Amperes = float | tuple[float, float, float] | None  # one value: on all three phases


def meter_values(
    power: float | None = None, energy: float | None = None, amperes: Amperes = None
) -> list[dict[str, Any]]:
    sampled: list[dict[str, str]] = []
    if power is not None:
        sampled.append({"value": str(power), "measurand": "Power.Active.Import", "unit": "W"})
    if energy is not None:
        sampled.append({"value": str(energy), "measurand": "Energy.Active.Import.Register", "unit": "Wh"})
    if amperes is not None:
        per_phase = amperes if isinstance(amperes, tuple) else (amperes,) * 3
        sampled += [
            {"value": str(value), "measurand": "Current.Import", "phase": f"L{i}", "unit": "A"}
            for i, value in enumerate(per_phase, 1)
        ]
    return [{"timestamp": "t", "sampled_value": sampled}]


@dataclass(frozen=True)
class Status:
    status: str
    error_code: str = "NoError"
    connector: int = 1


@dataclass(frozen=True)
class Meter:
    power: float | None = None
    energy: float | None = None
    amperes: Amperes = None
    transaction_id: int | None = None
    connector: int = 1


@dataclass(frozen=True)
class Start:
    meter_start: int
    connector: int = 1


@dataclass(frozen=True)
class Stop:
    meter_stop: int
    transaction_id: int


Event = Status | Meter | Start | Stop


def fold(events: list[Event], clock: Clock | None = None) -> tuple[Connector, list[Any]]:
    """The connector after `events`, one second apart, and what each event returned."""
    clock = clock or Clock()
    connector = Connector(1, clock, first_transaction_id=100)
    answers: list[Any] = []
    for event in events:
        clock.now += 1.0
        match event:
            case Status(status, error_code, number):
                answers.append(connector.on_status(number, error_code, status))
            case Meter(power, energy, amperes, transaction_id, number):
                connector.on_meter_values(number, meter_values(power, energy, amperes), transaction_id)
                answers.append(None)
            case Start(meter_start, number):
                answers.append(connector.on_start_transaction(number, meter_start))
            case Stop(meter_stop, transaction_id):
                connector.on_stop_transaction(meter_stop, transaction_id)
                answers.append(None)
    return connector, answers


CHARGING_16A: list[Event] = [
    Status("Preparing"),
    Start(1000),
    Status("Charging"),
    Meter(11040.0, 2500.0, 16.0),
]

# (what happens, events, (car_status, power, phases_out, charged_energy, total_energy, wb_error))
READINGS: list[tuple[str, list[Event], tuple[CarStatus, float, int, float, float, WbError]]] = [
    ("no car", [], (CarStatus.NoVehicle, 0.0, 0, 0.0, 0.0, WbError.OK)),
    (
        "plugged in, no energy yet",
        [Status("Preparing")],
        (CarStatus.WaitingForVehicle, 0.0, 0, 0.0, 0.0, WbError.OK),
    ),
    (
        "charging before any MeterValues: the offered current, never no load",
        [Status("Preparing"), Status("Charging")],
        (CarStatus.Charging, 10 * 3 * VOLTS, 3, 0.0, 0.0, WbError.OK),
    ),
    ("charging, measured", CHARGING_16A, (CarStatus.Charging, 11040.0, 3, 1500.0, 2500.0, WbError.OK)),
    (
        "on one phase",
        [*CHARGING_16A, Meter(3680.0, amperes=(16.0, 0.0, 0.2))],
        (CarStatus.Charging, 3680.0, 1, 1500.0, 2500.0, WbError.OK),
    ),
    (
        "no current but the contactor closed: never idle",
        [*CHARGING_16A, Meter(amperes=0.0)],
        (CarStatus.Charging, 11040.0, 3, 1500.0, 2500.0, WbError.OK),
    ),
    (
        "paused: MeterValues older than SuspendedEVSE do not count",
        [*CHARGING_16A, Status("SuspendedEVSE")],
        (CarStatus.WaitingForVehicle, 0.0, 0, 1500.0, 2500.0, WbError.OK),
    ),
    (
        "paused, but MeterValues newer than the status still show 16 A: they win",
        [*CHARGING_16A, Status("SuspendedEVSE"), Meter(11040.0, amperes=16.0)],
        (CarStatus.WaitingForVehicle, 11040.0, 3, 1500.0, 2500.0, WbError.OK),
    ),
    (
        "paused, and then measured idle",
        [*CHARGING_16A, Status("SuspendedEVSE"), Meter(11040.0, amperes=16.0), Meter(0.0, amperes=0.0)],
        (CarStatus.WaitingForVehicle, 0.0, 0, 1500.0, 2500.0, WbError.OK),
    ),
    (
        "Finishing right after the pause, still drawing",
        [*CHARGING_16A, Status("Finishing"), Meter(7360.0, 2600.0, amperes=16.0)],
        (CarStatus.ChargingFinished, 7360.0, 3, 1600.0, 2600.0, WbError.OK),
    ),
    (
        "the car takes nothing (SuspendedEV): the contactor is closed, so all supply phases count",
        [*CHARGING_16A, Status("SuspendedEV"), Meter(0.0, amperes=0.0)],
        (CarStatus.ChargingFinished, 0.0, 3, 1500.0, 2500.0, WbError.OK),
    ),
    (
        "the session's energy stays after StopTransaction until the car leaves",
        [*CHARGING_16A, Stop(3000, 101), Status("Finishing")],
        (CarStatus.ChargingFinished, 0.0, 0, 2000.0, 3000.0, WbError.OK),
    ),
    (
        "the car leaves",
        [*CHARGING_16A, Stop(3000, 101), Status("Finishing"), Status("Available")],
        (CarStatus.NoVehicle, 0.0, 0, 0.0, 3000.0, WbError.OK),
    ),
    (
        "a StopTransaction of another transaction is ignored",
        [*CHARGING_16A, Stop(9000, 7)],
        (CarStatus.Charging, 11040.0, 3, 1500.0, 2500.0, WbError.OK),
    ),
    (
        "a transaction started before the service ran counts from its first MeterValues",
        [Status("Charging"), Meter(7000.0, 50_000.0, 10.0, transaction_id=77), Meter(7000.0, 50_600.0, 10.0)],
        (CarStatus.Charging, 7000.0, 3, 600.0, 50_600.0, WbError.OK),
    ),
    (
        "another connector's events are ignored",
        [Status("Charging", connector=2), Meter(7000.0, 900.0, 10.0, connector=2), Start(5, connector=2)],
        (CarStatus.NoVehicle, 0.0, 0, 0.0, 0.0, WbError.OK),
    ),
    (
        "the whole charger (connector 0) faulted",
        [Status("Preparing"), Status("Faulted", "GroundFailure", connector=0)],
        (CarStatus.WaitingForVehicle, 0.0, 0, 0.0, 0.0, WbError.NO_GROUND),
    ),
    (
        "the connector faulted without an error code",
        [Status("Faulted")],
        (CarStatus.NoVehicle, 0.0, 0, 0.0, 0.0, WbError.INTERNAL),
    ),
    (
        "the fault clears",
        [Status("Faulted", "GroundFailure"), Status("Available")],
        (CarStatus.NoVehicle, 0.0, 0, 0.0, 0.0, WbError.OK),
    ),
]


@pytest.mark.parametrize(
    ("events", "expected"), [(e, x) for _, e, x in READINGS], ids=[r[0] for r in READINGS]
)
def test_events_fold_into_the_reading(
    events: list[Event], expected: tuple[CarStatus, float, int, float, float, WbError]
) -> None:
    connector, _ = fold(events)
    data = connector.reading(OFFER, VOLTS, ts=1234.0)
    got = (
        data.car_status,
        data.power,
        data.phases_out,
        data.charged_energy,
        data.total_energy,
        data.wb_error,
    )
    assert got == expected
    assert (data.ts, data.max_current, data.allow_charging, data.phases_in) == (1234.0, 10, True, 3)


def test_the_offer_is_what_the_reading_reports() -> None:
    connector, _ = fold([Status("Preparing")])
    data = connector.reading(Offer(current=6, phases=1), VOLTS, ts=0.0)
    assert (data.max_current, data.allow_charging, data.phases_in) == (6, False, 1)
    assert Offer(current=6, phases=1).limit == 0.0
    assert Offer(current=6, phases=1, allowed=True).limit == 6.0


def test_a_status_and_meter_values_at_the_same_moment_count_as_newer() -> None:
    clock = Clock()
    connector, _ = fold(CHARGING_16A, clock)
    connector.on_status(1, "NoError", "SuspendedEVSE")
    connector.on_meter_values(1, meter_values(11040.0, amperes=16.0), None)  # same clock reading
    assert connector.reading(OFFER, VOLTS, 0.0).power == 11040.0


@pytest.mark.parametrize(
    ("events", "remote_starts"),
    [
        ([Status("Preparing")], [True]),
        ([Status("Preparing"), Status("Preparing")], [True, False]),  # once per plug-in
        ([Status("Preparing"), Status("Available"), Status("Preparing")], [True, False, True]),
        ([Start(1000), Status("Preparing")], [101, False]),  # the charger started by itself
        ([Status("Preparing", connector=2)], [False]),
    ],
)
def test_remote_start_once_per_plug_in_without_a_transaction(
    events: list[Event], remote_starts: list[Any]
) -> None:
    assert fold(events)[1] == remote_starts


def test_every_start_gets_a_new_transaction_id() -> None:
    connector, answers = fold([Start(0), Start(0, connector=2), Start(10)])
    assert answers == [101, 102, 103]
    assert connector.transaction == 103


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], None),
        ([Meter(energy=100.0)], None),  # an energy register alone measures no current
        (CHARGING_16A, Measurements(4.0, 4.0)),
        ([*CHARGING_16A, Status("SuspendedEVSE"), Meter(11040.0, amperes=16.0)], Measurements(6.0, 6.0)),
        ([*CHARGING_16A, Meter(0.0, amperes=0.0), Meter(0.0, amperes=0.2)], Measurements(6.0, 4.0)),
        ([Meter(power=50.0)], Measurements(1.0, None)),  # power, no currents: below 100 W is no draw
        ([Meter(power=700.0)], Measurements(1.0, 1.0)),
    ],
)
def test_measurements_for_the_native_phase_switch(events: list[Event], expected: Measurements | None) -> None:
    assert fold(events)[0].measured == expected


def test_an_unknown_status_is_an_error_and_changes_nothing() -> None:
    connector, _ = fold(CHARGING_16A)
    before = connector.reading(OFFER, VOLTS, 0.0)
    with pytest.raises(OcppDataError, match="Plugged"):
        connector.on_status(1, "NoError", "Plugged")
    assert connector.reading(OFFER, VOLTS, 0.0) == before


def test_meter_values_that_are_no_numbers_are_an_error_and_change_nothing() -> None:
    connector, _ = fold(CHARGING_16A)
    before = (connector.reading(OFFER, VOLTS, 0.0), connector.measured)
    bad = [{"timestamp": "t", "sampled_value": [{"value": "lots", "measurand": "Power.Active.Import"}]}]
    with pytest.raises(OcppDataError):
        connector.on_meter_values(1, bad, 101)
    assert (connector.reading(OFFER, VOLTS, 0.0), connector.measured) == before
