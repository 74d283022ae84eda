"""A device that floods one MQTT topic: a raw MQTT 3.1.1 client on a blocking socket that publishes
`count` QoS 0 messages as fast as the broker takes them, each payload the sender's `time.monotonic()` at
the moment it was sent (CLOCK_MONOTONIC is shared by every process on the machine), so a receiver can tell
how old a value really is.

    python -m tests.fakes.mqtt_flood --port 1883 --topic meter/power --count 100000
"""

from __future__ import annotations

import argparse
import socket
import struct
import time


def _length(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n % 128, n // 128
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def _string(s: bytes) -> bytes:
    return struct.pack("!H", len(s)) + s


def flood(host: str, port: int, topic: str, count: int) -> float:
    """Publish `count` timestamps on `topic`; the seconds it took."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)  # stamps close to the real send time
        header = _string(b"MQTT") + bytes([4, 2]) + struct.pack("!H", 60) + _string(b"pvcontrol-flood")
        sock.sendall(b"\x10" + _length(len(header)) + header)
        if sock.recv(4)[:1] != b"\x20":
            raise ConnectionError("no CONNACK")
        started = time.monotonic()
        name = _string(topic.encode())
        for _ in range(count):
            body = name + f"{time.monotonic():.6f}".encode()
            sock.sendall(b"\x30" + _length(len(body)) + body)
        sock.sendall(b"\xe0\x00")  # DISCONNECT
        return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="flood an MQTT topic with timestamps")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    seconds = flood(args.host, args.port, args.topic, args.count)
    print(f"{args.count} messages in {seconds:.2f} s", flush=True)


if __name__ == "__main__":
    main()
