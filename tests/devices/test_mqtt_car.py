"""MqttCar against a real Mosquitto: the SOC of a Home Assistant sensor (retained, a quoted number) and the
range from an OBD dongle's JSON; malformed and stale values are counted read errors with the data kept."""

from __future__ import annotations

import json
from pathlib import Path

from tests.devices.test_service_processes import config_file, state
from tests.devices.test_service_processes_http import assert_alive
from tests.helpers import Broker, MqttProbe, running, wait_until


def test_car_process_with_mqtt_values(
    mqtt_broker: Broker, probe: MqttProbe, prefix: str, tmp_path: Path
) -> None:
    soc_topic, dongle = f"{prefix}-ha/sensor/car_soc/state", f"{prefix}-wican/car/status"
    car = {
        "type": "MqttCar",
        "url": mqtt_broker.url,
        "poll_interval": 0.2,
        "stale_after": 1.5,
        "soc": {"topic": soc_topic},
        "cruising_range": {"topic": dongle, "path": "range_km"},
    }
    probe.publish(soc_topic, '"73.5"', retain=True)  # published before pv-control started
    probe.publish(dongle, json.dumps({"soc": 73, "range_km": 287}))
    with running(
        ["car", "-c", config_file(tmp_path, {"car": car})], mqtt_broker, prefix, tmp_path
    ) as service:
        mark = probe.mark()

        def dongle_read() -> bool:  # the dongle publishes now and then, not retained
            probe.publish(dongle, json.dumps({"soc": 73, "range_km": 287}))
            return any(m.json()["error"] == 0 for m in probe.since(mark, f"{prefix}/car/state"))

        wait_until(dongle_read, what="the dongle's range read")
        first = state(probe, prefix, "car", lambda s: s["error"] == 0, mark)
        assert (first["soc"], first["cruising_range"], first["soc_estimated"]) == (73.5, 287.0, False)

        mark = probe.mark()
        probe.publish(soc_topic, "unavailable")  # what Home Assistant sends for a sensor it lost
        bad = state(probe, prefix, "car", lambda s: s["error"] > 0, mark)
        assert bad["soc"] == 73.5

        mark = probe.mark()
        probe.publish(soc_topic, "180")  # a wrong scale: not a percentage
        state(probe, prefix, "car", lambda s: s["error"] > 0, mark)

        def soc_goes_on_range_turns_stale() -> bool:
            probe.publish(soc_topic, "74")
            return any(m.json()["error"] > 0 for m in probe.since(mark, f"{prefix}/car/state"))

        mark = probe.mark()
        wait_until(soc_goes_on_range_turns_stale, what="the range turning stale")
        probe.publish(dongle, json.dumps({"soc": 74, "range_km": 291}))
        probe.publish(soc_topic, "74")
        back = state(
            probe, prefix, "car", lambda s: s["error"] == 0 and s["cruising_range"] == 291.0, probe.mark()
        )
        assert back["soc"] == 74.0
        assert_alive(service)
        log = service.log()
        assert "MQTT car: soc from" in log
        assert f"cruising_range from {dongle} is" in log
        assert "Traceback" not in log
    probe.publish(soc_topic, "", retain=True)
