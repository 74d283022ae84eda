"""The PV forecast service: `P/forecast/state` from a source, corrected by what the meter measures."""
