"""The bare Raspberry Pi install: deploy/pi/install.sh into a throwaway root directory (--destdir), the
systemd units checked by `systemd-analyze verify` inside it, and the installed pvcontrol started.

What cannot run in a container is not run: apt-get and `systemctl start` (no systemd as PID 1); the
script skips both with --destdir. The user is created for real with `useradd --prefix` in the root's own
/etc/passwd (seeded from the host's), the unit enabled with `systemctl --root`.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import get_args

import pytest

from pvcontrol.topics import ServiceName
from tests.helpers import Broker, accepts, free_port, wait_until
from tests.ops_helpers import REPO, need_tool

INSTALL = REPO / "deploy" / "pi" / "install.sh"
UNITS = ("pvcontrol.service", "pvcontrol@.service")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway root with the host's user database, after install.sh --destdir."""
    need_tool("useradd", "passwd")
    need_tool("systemctl", "systemd")
    root = tmp_path_factory.mktemp("pi-root")
    (root / "etc").mkdir()
    for name in ("passwd", "group", "shadow", "gshadow", "login.defs"):
        if Path("/etc", name).exists():
            shutil.copy(Path("/etc", name), root / "etc" / name)
    done = subprocess.run(
        ["bash", str(INSTALL), "--destdir", str(root), "--no-ui-build"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"install.sh failed:\n{done.stdout}\n{done.stderr}"
    assert "pv-control is installed" in done.stdout
    return root


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text())
    return parser


def test_install_creates_the_user_the_venv_the_config_and_enables_the_unit(root: Path) -> None:
    passwd = {
        line.split(":")[0]: line.split(":") for line in (root / "etc" / "passwd").read_text().splitlines()
    }
    assert passwd["pvcontrol"][5:] == ["/opt/pvcontrol", "/usr/sbin/nologin"]
    assert int(passwd["pvcontrol"][2]) < 1000  # a system user
    groups = {
        line.split(":")[0]: line.split(":") for line in (root / "etc" / "group").read_text().splitlines()
    }
    assert "pvcontrol" in groups["gpio"][3].split(",")
    assert (root / "opt" / "pvcontrol" / "venv" / "bin" / "pvcontrol").is_file()
    config = root / "etc" / "pvcontrol" / "config.yaml"
    assert config.read_text() == (REPO / "deploy" / "pi" / "config.yaml").read_text()
    assert config.stat().st_mode & 0o777 == 0o640
    secrets = root / "etc" / "pvcontrol" / "pvcontrol.env"
    assert secrets.stat().st_mode & 0o777 == 0o600
    for name in UNITS:
        assert (root / "etc" / "systemd" / "system" / name).read_text() == (
            REPO / "deploy" / "systemd" / name
        ).read_text()
    wanted = root / "etc" / "systemd" / "system" / "multi-user.target.wants" / "pvcontrol.service"
    assert os.readlink(wanted) == "/etc/systemd/system/pvcontrol.service"
    # Every path the units name exists in the installed root.
    for name in UNITS:
        service = unit(REPO / "deploy" / "systemd" / name)["Service"]
        exe, *_ = service["ExecStart"].split()
        assert (root / exe.lstrip("/")).is_file(), exe
        assert (root / service["WorkingDirectory"].lstrip("/")).is_dir()
        assert "-c /etc/pvcontrol/config.yaml" in service["ExecStart"]
        assert (service["User"], service["SupplementaryGroups"]) == ("pvcontrol", "gpio")
        # systemd makes /var/lib/pvcontrol, the config's history.data_dir, writable for the user.
        assert service["StateDirectory"] == "pvcontrol"
    assert "data_dir: /var/lib/pvcontrol" in config.read_text()


def test_systemd_analyze_verifies_the_units_in_the_installed_root(root: Path) -> None:
    analyze = need_tool("systemd-analyze", "systemd")
    # The root needs systemd's own units (sysinit.target, ...): the host's, as the Pi has them.
    system = root / "usr" / "lib" / "systemd" / "system"
    if not system.exists():
        shutil.copytree("/usr/lib/systemd/system", system, symlinks=True)
    for name in ("pvcontrol.service", "pvcontrol@relay.service", "pvcontrol@tariff.service"):
        done = subprocess.run([analyze, "verify", f"--root={root}", name], capture_output=True, text=True)
        assert (done.returncode, done.stderr) == (0, ""), f"{name}: {done.stderr}"


def test_the_all_in_one_unit_conflicts_with_every_single_service_unit() -> None:
    """`pvcontrol all` and a per-service unit of the same service would publish twice on the same topics."""
    conflicts = unit(REPO / "deploy" / "systemd" / "pvcontrol.service")["Unit"]["Conflicts"].split()
    assert sorted(conflicts) == sorted(f"pvcontrol@{name}.service" for name in get_args(ServiceName))
    single = unit(REPO / "deploy" / "systemd" / "pvcontrol@.service")["Unit"]["Conflicts"]
    assert single == "pvcontrol.service"


def test_install_builds_from_what_the_image_builds_from() -> None:
    """A package the image copies but install.sh does not is missing only on the Pi, at the first start."""
    dockerfile = (REPO / "Dockerfile").read_text()
    wheels_stage = dockerfile.split("AS wheels", 1)[1].split("\nFROM ", 1)[0]
    copies = re.findall(r"^COPY (.+) \S+$", wheels_stage, re.M)
    image = {p.rstrip("/") for line in copies for p in line.split()}
    (copy,) = re.findall(r'^cp -r (.+) "\$build/"$', INSTALL.read_text(), re.M)
    installed = {p.removeprefix('"$SRC/').rstrip('"') for p in copy.split()}
    assert installed == image


def test_the_installed_pvcontrol_starts_with_the_installed_config(
    root: Path, mqtt_broker: Broker, prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    exe = root / "opt" / "pvcontrol" / "venv" / "bin" / "pvcontrol"
    config = root / "etc" / "pvcontrol" / "config.yaml"
    # The root's paths stand for / here: the broker and port are the test's, the UI the root's.
    env = {
        **os.environ,
        "PVC_MQTT__PREFIX": prefix,
        "PVC_API__UI_DIR": str(root / "opt" / "pvcontrol" / "ui"),
        "PVC_HISTORY__DATA_DIR": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    args = [
        str(exe),
        "all",
        "-c",
        str(config),
        "--mqtt",
        mqtt_broker.url,
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    log = tmp_path / "pvcontrol.log"
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        wait_until(lambda: proc.poll() is not None or accepts(port), 30, "the installed pvcontrol listening")
        assert proc.poll() is None, log.read_text()
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: ready(url), 20, "the installed pvcontrol ready")
        with urllib.request.urlopen(f"{url}/", timeout=5) as page:
            html = page.read().decode()
        built = (REPO / "ui" / "dist" / "pvcontrol" / "browser" / "index.html").exists()
        assert ("The UI is not built" not in html) == built, (
            "install.sh copies the UI exactly when it is built"
        )
        assert (tmp_path / "pvcontrol-history.sqlite").is_file()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "Traceback" not in log.read_text()


def test_install_refuses_an_unknown_option_with_its_usage() -> None:
    done = subprocess.run(["bash", str(INSTALL), "--frobnicate"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "unknown option --frobnicate" in done.stderr
    assert "usage: install.sh" in done.stderr
