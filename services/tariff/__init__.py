"""The tariff service: `P/tariff/state`, the electricity prices from now to the last known period."""
