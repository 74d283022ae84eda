"""Put tests/fakes/rpi on PYTHONPATH and `import RPi.GPIO` finds the fake GPIO (tests/fakes/gpio.py)."""
