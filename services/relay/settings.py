"""The `relay` settings section: the config model of its `type`, found through the registry, so only the
configured device's module is imported."""

from __future__ import annotations

from typing import Annotated

from pydantic import PlainValidator, SerializeAsAny

from services.relay.device import RelayBase
from services.relay.registry import RELAYS

RelaySettings = Annotated[SerializeAsAny[RelayBase], PlainValidator(RELAYS.validate)]
