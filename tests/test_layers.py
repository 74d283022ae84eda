"""The layers: the core (`pvcontrol`) imports no service, the services do not import the composition root
(`pvcontrol_app`), so imports only run down: pvcontrol_app -> services -> pvcontrol."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAUNCHER = ROOT / "pvcontrol" / "__main__.py"  # `python -m pvcontrol`: a script entry, never imported
FORBIDDEN = {"pvcontrol": ("services", "pvcontrol_app"), "services": ("pvcontrol_app",)}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_down_the_layers(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {upper}"
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != LAUNCHER
        for upper in sorted(imported_packages(path) & set(FORBIDDEN[package]))
    ]
    assert wrong == []


def test_the_launcher_only_starts_the_command() -> None:
    assert imported_packages(LAUNCHER) == {"sys", "pvcontrol_app"}


def imported_services(path: Path) -> set[str]:
    """The services a file imports (`services.<name>...`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    modules = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    modules += [
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    ]
    return {module.split(".")[1] for module in modules if module.startswith("services.")}


def test_no_service_imports_another() -> None:
    """Services talk only over MQTT; what two of them share lives in the core."""
    wrong = [
        f"{path.relative_to(ROOT)} imports services.{other}"
        for service in sorted(p for p in (ROOT / "services").iterdir() if (p / "__init__.py").exists())
        for path in sorted(service.rglob("*.py"))
        for other in sorted(imported_services(path) - {service.name})
    ]
    assert wrong == []
