"""The control strategies by their `controller.strategy` name; the service picks one once."""

from __future__ import annotations

from services.controller import law, tracking
from services.controller.cycle import Strategy

STRATEGIES: dict[str, Strategy] = {strategy.name: strategy for strategy in (law.STRATEGY, tracking.STRATEGY)}
