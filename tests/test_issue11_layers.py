"""Issue 11: the import-linter ``layers`` contract cannot be bypassed.

``lint-imports`` runs on a copy of the packages in a temporary folder: clean, it
keeps every contract; with a connector importing the pipeline or ingest, the store
importing ``followthrough.config``, or a connector reaching the pipeline through a
module outside the layers, it reports each of them and fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("followthrough", "connectors", "extractor", "store", "prompts")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _layer_of(layers: list[str], module: str) -> int:
    """The index of the layer that names ``module`` (0 is the top)."""
    return next(i for i, layer in enumerate(layers) if module in (m.strip() for m in layer.split("|")))


def test_the_layers_contract_orders_the_real_packages_and_checks_indirect_imports() -> None:
    contracts = _contracts()
    (layered,) = [c for c in contracts if c["type"] == "layers"]
    assert all("allow_indirect_imports" not in c for c in contracts)
    layers = layered["layers"]
    order = [
        "followthrough.cli",
        "followthrough.api",
        "followthrough.pipeline",
        "followthrough.ingest",
        "followthrough.config",
        "connectors",
        "prompts",
        "followthrough.types",
    ]
    assert [_layer_of(layers, m) for m in order] == sorted(_layer_of(layers, m) for m in order)
    assert len({_layer_of(layers, m) for m in order}) == len(order)
    assert _layer_of(layers, "store") == _layer_of(layers, "connectors") == _layer_of(layers, "extractor")
    forbidden = [(c["source_modules"], c["forbidden_modules"]) for c in contracts if c["type"] == "forbidden"]
    assert (["store"], ["openai"]) in forbidden


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the packages under ``root`` (it puts its working folder first on sys.path)."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=60, check=False
    )


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(f"\n{line}\n")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """The packages and ``pyproject.toml``, copied into ``tmp_path``."""
    for package in PACKAGES:
        shutil.copytree(REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_lint_imports_reports_each_import_across_the_layers(copy: Path) -> None:
    clean = _lint(copy)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "BROKEN" not in clean.stdout

    _append(copy / "connectors" / "slack_text.py", "import followthrough.pipeline")
    _append(copy / "connectors" / "crm.py", "from followthrough.ingest import plan")
    _append(copy / "store" / "admission.py", "from followthrough import config")
    # Indirectly: through a module that belongs to no layer.
    (copy / "followthrough" / "relay.py").write_text("import followthrough.pipeline\n", encoding="utf-8")
    _append(copy / "connectors" / "base.py", "import followthrough.relay")
    broken = _lint(copy)

    assert broken.returncode == 1, broken.stdout + broken.stderr
    out = broken.stdout
    assert "Layers: " in out and "BROKEN" in out
    assert "connectors is not allowed to import followthrough.pipeline" in out
    assert "connectors.slack_text -> followthrough.pipeline" in out
    assert "connectors is not allowed to import followthrough.ingest" in out
    assert "connectors.crm -> followthrough.ingest" in out
    assert "store is not allowed to import followthrough.config" in out
    assert "store.admission -> followthrough.config" in out
    assert "- connectors.base -> followthrough.relay (l." in out
    assert "  followthrough.relay -> followthrough.pipeline (l.1)" in out
