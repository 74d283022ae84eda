"""Controller metrics, named as in the original pv-control."""

from prometheus_client import Counter, Enum

from pvcontrol.models import ChargeMode

MODE = Enum("pvcontrol_controller_mode", "Effective charge mode", states=[m.value for m in ChargeMode])
TOTAL_CHARGED = Counter("pvcontrol_controller_total_charged_energy_wh", "Energy charged into the car")
CHARGED = Counter("pvcontrol_controller_charged_energy_wh", "Energy charged by source", ["source"])
FAILED_CYCLES = Counter("pvcontrol_controller_failed_cycles", "Control cycles that raised")
# What wears the car, the wallbox and the relay (issue 8): changes commanded, repeats not counted.
STARTS = Counter("pvcontrol_controller_starts", "Charging starts commanded (allow_charging true)")
STOPS = Counter("pvcontrol_controller_stops", "Charging stops commanded (allow_charging false)")
PHASE_SWITCHES = Counter("pvcontrol_controller_phase_switches", "Phase relay switches commanded")
CURRENT_CHANGES = Counter("pvcontrol_controller_current_changes", "Charging current changes commanded")
