#!/usr/bin/env bash
# Install everything the tests need (venv, mosquitto, chromium, npm packages) and run all of them:
# lint, format, types, Python tests against a real Mosquitto, UI unit tests and UI end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)   # prometheus + promtool (tests/test_ops_*)
command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)   # verifies the units (tests/test_ops_pi_install.py)
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian starts its own mosquitto on 1883 after installing it; the tests use their own on a free port.

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'

echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy .

if [ -f ui/package.json ]; then
  echo "== UI build and unit tests"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build && npm test)
fi

echo "== pytest"
.venv/bin/pytest "$@"

if [ -f ui/package.json ] && grep -q '"e2e"' ui/package.json; then
  echo "== UI end-to-end tests in Chromium"
  (cd ui && npm run e2e)
fi
