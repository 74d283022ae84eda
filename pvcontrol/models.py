"""State documents and enums shared by every service (CONTRACT.md section 1)."""

from __future__ import annotations

import time
from enum import IntEnum, StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ChargeMode(StrEnum):
    OFF = "OFF"
    PV_ONLY = "PV_ONLY"
    PV_ALL = "PV_ALL"
    MAX = "MAX"
    MANUAL = "MANUAL"


class PhaseMode(StrEnum):
    DISABLED = "DISABLED"
    AUTO = "AUTO"
    CHARGE_1P = "CHARGE_1P"
    CHARGE_3P = "CHARGE_3P"


class Priority(StrEnum):
    AUTO = "AUTO"
    HOME_BATTERY = "HOME_BATTERY"
    CAR = "CAR"


class WbError(IntEnum):
    OK = 0
    RCCB = 1
    PHASE = 3
    NO_GROUND = 8
    INTERNAL = 10
    PHASE_RELAY_ERR = 100


class CarStatus(IntEnum):
    NoVehicle = 1
    Charging = 2
    WaitingForVehicle = 3
    ChargingFinished = 4


def now() -> float:
    return time.time()


class StateDocument(BaseModel):
    """Common part of every `P/<service>/state` document."""

    # NaN and infinities are no readings: a document holding one is invalid as a whole.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    ts: float = 0.0
    error: int = Field(default=0, ge=0)


class MeterData(StateDocument):
    power_pv: float = 0.0
    power_consumption: float = 0.0
    power_grid: float = 0.0
    power_battery: float = 0.0
    soc_battery: float = 0.0
    energy_consumption: float = 0.0
    energy_consumption_grid: float = 0.0
    energy_consumption_pv: float = 0.0


class WallboxData(StateDocument):
    wb_error: WbError = WbError.OK
    car_status: CarStatus = CarStatus.NoVehicle
    max_current: int = 0
    allow_charging: bool = False
    phases_in: int = Field(default=0, ge=0, le=3)
    phases_out: int = Field(default=0, ge=0, le=3)
    power: float = 0.0
    charged_energy: float = 0.0
    total_energy: float = 0.0
    temperature: float = 0.0


class CarData(StateDocument):
    soc: float = 0.0
    cruising_range: float = 0.0
    mileage: float = 0.0
    data_captured_at: str | None = None
    # Beyond the original: true while `soc` is estimated from the wallbox's charged energy since the
    # last real reading (the cloud is asked only when it matters).
    soc_estimated: bool = False
    # Beyond the original: false when no one knows the SOC (NoCar, WallboxCar); `soc` is then 0 and
    # means nothing. A document without the field (the original contract) knows its SOC when soc > 0,
    # which is how the original's consumers read a 0.
    soc_known: bool = True
    # Beyond the original: Wh charged in the wallbox's current session, from a car that knows only that.
    session_energy: float | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _soc_known_from_soc(cls, data: Any) -> Any:
        if isinstance(data, dict) and "soc_known" not in data:
            soc = data.get("soc", 0.0)
            unknown = isinstance(soc, int | float) and not isinstance(soc, bool) and soc <= 0
            return {**data, "soc_known": not unknown}
        return data


class RelayData(StateDocument):
    enabled: bool = False
    phase_relay: bool = False
    phases: int = Field(default=0, ge=0, le=3)


class ForecastPeriod(BaseModel):
    """Average PV power forecast for one period (15 minutes), epoch seconds."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    start: float
    end: float
    power_pv: float = Field(ge=0)  # W, the whole roof, after losses


class ForecastData(StateDocument):
    """`P/forecast/state`: the PV forecast from the current period to the end of tomorrow."""

    source: str = ""
    periods: list[ForecastPeriod] = []
    sunrise: float | None = None  # epoch s, today (local)
    sunset: float | None = None
    energy_today_remaining: float = Field(default=0.0, ge=0)  # Wh from now to local midnight
    energy_tomorrow: float = Field(default=0.0, ge=0)  # Wh

    def energy_between(self, start: float, end: float) -> float:
        """Forecast PV energy (Wh) from `start` to `end`, the periods cut to that window."""
        total = 0.0
        for period in self.periods:
            overlap = min(end, period.end) - max(start, period.start)
            if overlap > 0:
                total += period.power_pv * overlap / 3600.0
        return total


class TariffPeriod(BaseModel):
    """Prices per kWh for one period as the user pays them (market price + markup, with VAT)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    start: float  # epoch s
    end: float
    grid_price: float  # currency per kWh bought; may be negative on a dynamic tariff
    feed_in: float = 0.0  # currency per kWh sold


class TariffData(StateDocument):
    """`P/tariff/state`: prices from the current period to the last known one."""

    source: str = ""
    currency: str = "EUR"
    periods: list[TariffPeriod] = []

    def period_at(self, when: float) -> TariffPeriod | None:
        """The period holding `when`, None when no price is known for it."""
        for period in self.periods:
            if period.start <= when < period.end:
                return period
        return None


class PlanSlot(BaseModel):
    """A period in which a departure plan charges from the grid."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    start: float  # epoch s
    end: float
    grid_price: float | None = None  # None: no tariff known


class SessionTotals(BaseModel):
    """All charging sessions in the gateway's history file (stored every 30 s while one is open)."""

    count: int = 0
    energy_wh: float = 0.0
    pv_wh: float = 0.0
    battery_wh: float = 0.0
    grid_wh: float = 0.0
    cost: float = 0.0  # grid bought + feed-in forgone, with the history settings' prices


class ApiData(StateDocument):
    """The gateway's own state: how many live (SSE) clients it serves; the sessions' totals."""

    version: str = ""
    sse_clients: int = 0
    sessions: SessionTotals | None = None  # None without a usable history file


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class PlanSetting(BaseModel):
    """A departure plan as the user sets it: the payload of `P/controller/plan/set` and the body of
    PUT /api/pvcontrol/controller/plan (empty or `null` there clears the plan). Strict: it becomes a
    command. `pvcontrol.goal_commands.plan_setting` reads one and says what is wrong with a bad one."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    soc: int = Field(ge=1, le=100)
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")  # HH:MM, local
    days: list[Weekday] = []  # weekdays it repeats on, each once, in week order; empty: once

    @field_validator("days")
    @classmethod
    def _each_once_in_week_order(cls, days: list[Weekday]) -> list[Weekday]:
        if len(set(days)) != len(days):
            raise ValueError("a weekday is given twice")
        return sorted(days, key=WEEKDAYS.index)


class PlanState(BaseModel):
    """A departure plan ("80 % by 07:00") and how it is going."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    soc: int = Field(ge=1, le=100)
    time: str  # HH:MM, local
    days: list[str] = []  # weekdays it repeats on (mon..sun); empty: once
    deadline: float | None = None  # Unix s of the next occurrence
    energy_needed_wh: float | None = None
    grid_start: float | None = None  # Unix s: full power from then on if the sun has not done it
    projected_finish: float | None = None  # Unix s
    achievable: bool = True
    slots: list[PlanSlot] = []  # the periods it will charge from the grid, cheapest first chosen
    cost_estimate: float | None = None  # currency: the grid energy it still buys at the slots' prices


class HomeBatteryState(BaseModel):
    """The home battery's plan with a PV forecast: what it still needs to be full, by when, and when the
    forecast fills it (None: not before sunset)."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)

    needed_wh: float = Field(ge=0)
    full_by: float  # Unix s: the target (sunset - home_battery_full_before_sunset)
    full_at: float | None = None  # Unix s


class ControllerData(StateDocument):
    mode: ChargeMode = ChargeMode.OFF
    desired_mode: ChargeMode = ChargeMode.OFF
    phase_mode: PhaseMode = PhaseMode.AUTO
    priority: Priority = Priority.AUTO
    desired_priority: Priority = Priority.AUTO
    # Beyond the original, for the UI: a pending start (wish true) or stop and the seconds until it
    # happens, None when nothing is pending; energy charged today (local date `energy_day`) by source.
    allow_charging_wish: bool | None = None
    allow_charging_delay: float | None = None
    energy_day: str | None = None
    energy_today_pv: float = Field(default=0.0, ge=0)
    energy_today_grid: float = Field(default=0.0, ge=0)
    # One human sentence: what the controller is doing or waiting for ("starting in 20 s").
    reason: str | None = None
    # The car's goals (user settings, restored after a restart like desired_mode) and their state.
    min_soc: int | None = Field(default=None, ge=1, le=100)
    limit_soc: int | None = Field(default=None, ge=1, le=99)
    plan: PlanState | None = None
    # per kWh in the tariff's currency: PV modes also charge from the grid while the price is at or below
    price_limit: float | None = Field(default=None, ge=-10, le=10)
    soc: float | None = Field(default=None, ge=0, le=100)  # what the goals go by
    soc_source: str | None = None  # "car", "car (estimated)" or "session energy"
    home_battery: HomeBatteryState | None = None  # None: no forecast or battery to plan with
