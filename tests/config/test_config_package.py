"""The config layer sits at the bottom of the import graph: stack YAML -> validated config
-> components -> resources, never the other way round."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import components.config

PROJECT_DIR = Path(__file__).resolve().parents[2]
ABOVE_CONFIG = ("components.aws", "components.workloads", "components.platform", "components.program", "components.existing_cluster")


def _modules_loaded_by(statement: str) -> list[str]:
    """sys.modules after ``statement`` in a fresh interpreter (this one already imported everything)."""
    script = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_DIR, check=True)
    return json.loads(result.stdout)


def test_importing_the_config_package_loads_nothing_above_it() -> None:
    loaded = _modules_loaded_by("import components.config")
    assert "components.config" in loaded
    assert [m for m in loaded if m.startswith(ABOVE_CONFIG)] == []


def test_no_config_module_imports_the_components_built_on_it() -> None:
    # Every module of the package, rules included, imported together: the loader reaches all
    # of them, and none may pull in the AWS or workload components.
    names = [m.name for m in pkgutil.walk_packages(components.config.__path__, "components.config.")]
    assert "components.config.rules.models" in names and "components.config.loader" in names
    loaded = _modules_loaded_by("\n".join(f"import {name}" for name in names))
    assert [m for m in loaded if m.startswith(ABOVE_CONFIG)] == []
    assert not any(m == "pulumi" or m.startswith("pulumi.") for m in loaded), "config validation must not need the Pulumi SDK"
