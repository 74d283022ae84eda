"""The interface of every phase relay."""

from __future__ import annotations

from abc import ABC, abstractmethod


class PhaseRelay(ABC):
    @property
    @abstractmethod
    def enabled(self) -> bool: ...

    @abstractmethod
    def is_energised(self) -> bool:
        """Whether the relay coil is on."""

    @abstractmethod
    def phases(self) -> int:
        """1 or 3 when enabled, 0 when disabled."""

    @abstractmethod
    def set_phases(self, phases: int) -> None:
        """Switch to 1 or 3 phases. The caller has checked the wallbox is idle."""

    def close(self) -> None:
        """Release the pins; must not switch the relay."""
