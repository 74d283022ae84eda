#!/usr/bin/env bash
# Install what the tests need (venv, mosquitto, chromium, npm packages, Node-RED) and run all of them:
# lint, format, types, Python tests against a real Mosquitto (in parallel, one Mosquitto per worker),
# UI unit tests and UI end-to-end tests. Prints each phase's time, the first-time installs apart.
#
#   scripts/test.sh [pytest args...]   everything, as CI runs it (.ci/run)
#   scripts/test.sh --quick [args...]  lint, types and the pure tests (no broker, no processes): < 1 min
#
# PYTEST_WORKERS sets pytest-xdist's worker count (default 4: the tests mostly wait on brokers and
# processes, so more workers than the 2 cores pay off: 1,492 tests took 210 s on 4, 251 s on 3; 0 runs
# serially).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
workers="${PYTEST_WORKERS:-4}"

timings=()
phase_started=0
phase() {   # phase NAME: print a header and start its clock
  phase_name="$1"
  phase_started=$(date +%s.%N)
  echo "== $phase_name"
}
phase_done() {
  local seconds
  seconds=$(awk -v a="$phase_started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  echo "-- $phase_name: $seconds s"
  timings+=("$(printf '%-34s %7s s' "$phase_name" "$seconds")")
}
summary() {
  echo "== phase times"
  printf '%s\n' "${timings[@]}"
}
trap 'status=$?; [ ${#timings[@]} -eq 0 ] || summary; exit $status' EXIT

# --- first-time installs (quick when everything is there already) ----------------------------------
phase "installs (apt, pip, npm, Node-RED)"
need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
if [ $quick -eq 0 ]; then
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)   # prometheus + promtool (tests/test_ops_*)
  command -v systemd-analyze >/dev/null 2>&1 || need_apt+=(systemd)   # verifies the units (test_ops_pi_install)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# Debian starts its own mosquitto on 1883 after installing it; the tests use their own on a free port.

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'

ui=0
[ $quick -eq 0 ] && [ -f ui/package.json ] && ui=1
if [ $ui -eq 1 ]; then
  # npm ci wipes and reinstalls node_modules (a minute); skip it while the lock file is unchanged.
  lock_sum=$(sha256sum ui/package-lock.json | cut -d' ' -f1)
  stamp=ui/node_modules/.installed-from-lock
  if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_sum" > "$stamp"
  fi
  # Node-RED (pinned in the test) for tests/test_ops_node_red.py, installed once into .cache/node-red.
  .venv/bin/python -c 'from tests.test_ops_node_red import node_red_script; node_red_script()'
fi
phase_done

# --- checks ------------------------------------------------------------------------------------------
phase "ruff"
.venv/bin/ruff check . && .venv/bin/ruff format --check .
phase_done

phase "mypy"
.venv/bin/mypy .
phase_done

if [ $quick -eq 1 ]; then
  phase "pytest --quick (pure tests)"
  .venv/bin/pytest -q -m "not broker and not process" -n 2 "$@"
  phase_done
  exit 0
fi

if [ $ui -eq 1 ]; then
  phase "UI build and unit tests"
  (cd ui && npm run build && npm test)
  phase_done
fi

phase "pytest (-n $workers)"
.venv/bin/pytest -n "$workers" --dist loadgroup --durations=15 "$@"
phase_done

if [ $ui -eq 1 ] && grep -q '"e2e"' ui/package.json; then
  phase "UI end-to-end tests in Chromium"
  (cd ui && npm run e2e)
  phase_done
fi
