#!/usr/bin/env bash
# Install pv-control into .venv and start the whole system on simulated devices.
# Needs only Python 3.11+; builds the UI too when Node.js/npm are there. Extra arguments go to
# `pvcontrol all`, e.g. --port 8081 or -c config.yaml.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "pv-control needs Python 3.11 or newer" >&2; exit 1; }
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e .

if [ ! -f ui/dist/pvcontrol/browser/index.html ] && command -v npm >/dev/null 2>&1; then
  echo "building the UI (once)..."
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) \
    || echo "UI build failed; the REST API still runs" >&2
fi

# A fast, lively demo: the simulated sun rises and sets within an hour.
export PVC_METER__PROFILE="${PVC_METER__PROFILE:-day}"
export PVC_METER__PV_MAX="${PVC_METER__PV_MAX:-7000}"
exec .venv/bin/pvcontrol all "$@"
