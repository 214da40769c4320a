"""Finding the Airlock Pulumi project the CLI operates on."""

from __future__ import annotations

from pathlib import Path


class ProjectNotFoundError(Exception):
    pass


def find_project(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding the airlock Pulumi.yaml."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "Pulumi.yaml"
        if candidate.is_file():
            return directory
    raise ProjectNotFoundError(
        f"no Pulumi.yaml in {here} or any parent directory; run airlock inside the project or pass --project DIR"
    )


def project_name(project_dir: Path) -> str:
    from components.config.loader import project_document

    return str(project_document(project_dir).get("name", "airlock"))


def check_project(project_dir: Path) -> Path:
    project_dir = project_dir.resolve()
    if not (project_dir / "Pulumi.yaml").is_file():
        raise ProjectNotFoundError(f"--project {project_dir}: no Pulumi.yaml there")
    if not (project_dir / "__main__.py").is_file():
        raise ProjectNotFoundError(f"--project {project_dir}: no __main__.py there")
    return project_dir
