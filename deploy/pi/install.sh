#!/usr/bin/env bash
# Install pv-control on a Raspberry Pi (Raspberry Pi OS / Debian 12 or newer) without Docker:
#   git clone <this repository> pv-control && sudo pv-control/deploy/pi/install.sh
# - Mosquitto and python3-venv from the OS packages (Mosquitto then listens on localhost only)
# - a venv under /opt/pvcontrol/venv with pv-control from this checkout; the UI in /opt/pvcontrol/ui
# - the system user pvcontrol, in the group gpio (the phase relay's /dev/gpiomem)
# - /etc/pvcontrol/config.yaml (kept if it exists) and /etc/pvcontrol/pvcontrol.env for secrets (root only)
# - the systemd units pvcontrol.service (`pvcontrol all`) and pvcontrol@.service (one per service);
#   pvcontrol.service is enabled and started. Logs: journalctl -u pvcontrol -f
# Run it again after `git pull` to update. --destdir DIR installs into DIR instead of / (for tests and
# packaging: no packages, no start; the venv there runs from DIR).
set -euo pipefail

usage() {
  echo "usage: install.sh [--destdir DIR] [--no-apt] [--no-start] [--no-ui-build]"
}

SRC="$(cd "$(dirname "$0")/../.." && pwd)"
DESTDIR="${DESTDIR:-}"
APT=yes START=yes UI_BUILD=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) [ $# -ge 2 ] || { usage >&2; exit 2; }; DESTDIR="$2"; shift 2 ;;
    --no-apt) APT=no; shift ;;
    --no-start) START=no; shift ;;
    --no-ui-build) UI_BUILD=no; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -n "$DESTDIR" ]; then
  DESTDIR="$(realpath -m "$DESTDIR")"
  APT=no START=no
elif [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run it as root: sudo $0" >&2
  exit 1
fi
PYTHON="${PYTHON:-python3}"
OPT="$DESTDIR/opt/pvcontrol"
ETC="$DESTDIR/etc/pvcontrol"
UNITS="$DESTDIR/etc/systemd/system"

step() { echo "== $*"; }

if [ "$APT" = yes ]; then
  step "packages: python3-venv, mosquitto, mosquitto-clients"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv mosquitto mosquitto-clients >/dev/null
fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "install.sh: pv-control needs Python 3.11 or newer; $PYTHON is older" >&2; exit 1; }

step "system user pvcontrol in the group gpio"
prefix=()
[ -z "$DESTDIR" ] || prefix=(--prefix "$DESTDIR")
if [ -f "$DESTDIR/etc/passwd" ]; then
  # Raspberry Pi OS has the group gpio; elsewhere an empty one keeps the unit's SupplementaryGroups valid.
  grep -q '^gpio:' "$DESTDIR/etc/group" || groupadd "${prefix[@]}" --system gpio
  if grep -q '^pvcontrol:' "$DESTDIR/etc/passwd"; then
    usermod "${prefix[@]}" -a -G gpio pvcontrol
  else
    useradd "${prefix[@]}" --system --user-group --groups gpio --no-create-home \
      --home-dir /opt/pvcontrol --shell /usr/sbin/nologin pvcontrol
  fi
else
  echo "   no $DESTDIR/etc/passwd: no user created"
fi

step "venv $OPT/venv with pv-control from $SRC"
install -d -m 0755 "$OPT"
[ -x "$OPT/venv/bin/python" ] || "$PYTHON" -m venv "$OPT/venv"
# Built from a copy of what the image copies, so no root-owned build/ is left in the checkout.
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
cp -r "$SRC/pyproject.toml" "$SRC/README.md" "$SRC/pvcontrol" "$SRC/services" "$SRC/pvcontrol_app" "$build/"
"$OPT/venv/bin/pip" install --quiet --disable-pip-version-check --upgrade "$build"

step "phone UI in $OPT/ui"
built="$SRC/ui/dist/pvcontrol/browser"
if [ ! -f "$built/index.html" ] && [ "$UI_BUILD" = yes ] && command -v npm >/dev/null 2>&1; then
  (cd "$SRC/ui" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) \
    || echo "   UI build failed; the REST API still runs" >&2
fi
if [ -f "$built/index.html" ]; then
  rm -rf "$OPT/ui" && cp -r "$built" "$OPT/ui"
else
  echo "   the UI is not built (needs Node.js: apt-get install npm, then run this again); the REST API runs"
fi

step "configuration $ETC"
install -d -m 0755 "$ETC"
if [ -f "$ETC/config.yaml" ]; then
  echo "   keeping $ETC/config.yaml"
else
  install -m 0640 "$SRC/deploy/pi/config.yaml" "$ETC/config.yaml"
fi
[ -f "$ETC/pvcontrol.env" ] || install -m 0600 /dev/null "$ETC/pvcontrol.env"
# The service reads the config as pvcontrol; the env file is read by systemd as root.
[ -n "$DESTDIR" ] || chgrp pvcontrol "$ETC/config.yaml"

step "systemd units"
install -d -m 0755 "$UNITS"
install -m 0644 "$SRC/deploy/systemd/pvcontrol.service" "$SRC/deploy/systemd/pvcontrol@.service" "$UNITS/"
if [ -n "$DESTDIR" ]; then
  systemctl --root="$DESTDIR" enable pvcontrol.service
else
  systemctl daemon-reload
  systemctl enable --now mosquitto.service
  systemctl enable pvcontrol.service
  if [ "$START" = yes ]; then
    systemctl restart pvcontrol.service
  fi
fi

echo "pv-control is installed. Set your devices in $ETC/config.yaml, then: systemctl restart pvcontrol"
echo "UI: http://$(hostname):8080   logs: journalctl -u pvcontrol -f"
