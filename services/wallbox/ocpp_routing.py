"""The `ocpp` library's message routing, made safe against a charge point that misbehaves.

- A frame that cannot be parsed gets a CALLERROR, as OCPP-J says (FormationViolation for broken JSON,
  ProtocolError for a frame that is no OCPP message), with its message id if one can be read, else "-1"
  (as OCPP-J 2.0.1 specifies; 1.6 names none). The library only logged it.
- A CALL of an unknown action gets `NotImplemented`, of a known action this central system does not handle
  `NotSupported` (OCPP-J 1.6, 4.2.3); the library had them the other way round.
- CALLRESULTs and CALLERRORs nobody waits for are dropped (counted, one log line a minute), and at most
  `MAX_PENDING_RESPONSES` wait for a pending CALL: 200,000 unsolicited ones grew the library's unbounded
  queue by ~100 MB and made its recursive wait for the matching answer fail with RecursionError.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from ocpp.exceptions import (
    FormationViolationError,
    FormatViolationError,
    NotSupportedError,
    OCPPError,
)
from ocpp.exceptions import (
    NotImplementedError as OcppNotImplemented,
)
from ocpp.messages import Call, MessageType, unpack
from ocpp.v16 import ChargePoint
from ocpp.v16.enums import Action

from pvcontrol.throttle import LogThrottle

MAX_PENDING_RESPONSES = 16
log = logging.getLogger("pvcontrol.wallbox.ocpp")


def _message_id(raw: str) -> str:
    """The id of a frame that is not a valid message, if it has one where an id belongs."""
    try:
        frame = json.loads(raw)
    except (ValueError, TypeError):
        return "-1"
    if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str) and len(frame[1]) <= 36:
        return frame[1]
    return "-1"


def _call_error_frame(unique_id: str, error: OCPPError) -> str:
    if isinstance(error, FormatViolationError):  # the library names it as OCPP 2.0.1 does
        error = FormationViolationError(description=error.description, details=error.details)
    cause = {"cause": str(error.details.get("cause", ""))[:200]} if isinstance(error.details, dict) else {}
    return json.dumps([MessageType.CallError, unique_id, error.code, error.description or "", cause])


class RobustChargePoint(ChargePoint):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._response_queue: asyncio.Queue[Any] = asyncio.Queue(MAX_PENDING_RESPONSES)
        self._dropped = LogThrottle(log)
        self.unsolicited = 0

    async def route_message(self, raw_msg: str) -> None:
        try:
            msg = unpack(raw_msg)
        except OCPPError as e:
            # logged at ERROR through the wire log: one line, counted as a read error
            self.logger.error("unparseable frame answered with %s: %s", e.code, str(raw_msg)[:80])
            await self._send(_call_error_frame(_message_id(raw_msg), e))
            return
        if msg.message_type_id == MessageType.Call:
            if not isinstance(msg.action, str) or msg.action not in self.route_map:
                await self._send(msg.create_call_error(self._unknown_action(msg)).to_json())
                return
            await super().route_message(raw_msg)
            return
        if not self._call_lock.locked():
            self._drop("unsolicited", "OCPP: dropped an answer to no pending request (%s)", msg)
            return
        if self._response_queue.full():  # the oldest goes: the answer awaited is the newest one
            self._drop(
                "stale", "OCPP: dropped an answer to another request (%s)", self._response_queue.get_nowait()
            )
        self._response_queue.put_nowait(msg)

    def _drop(self, key: str, line: str, msg: Any) -> None:
        self.unsolicited += 1
        self._dropped.warning(key, line, str(msg.unique_id)[:36])

    def _unknown_action(self, msg: Call) -> OCPPError:
        try:
            Action(msg.action)
        except ValueError:
            return OcppNotImplemented(details={"cause": f"{str(msg.action)[:40]} is not an OCPP 1.6 action"})
        return NotSupportedError(details={"cause": f"{msg.action} is not supported by this central system"})

    async def _get_specific_response(self, unique_id: str, timeout: float) -> Any:
        """The answer with `unique_id`; others are dropped. A loop, not the library's recursion."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            response = await asyncio.wait_for(self._response_queue.get(), left)
            if response.unique_id == unique_id:
                return response
            self._drop("stale", "OCPP: dropped an answer to another request (%s)", response)
