"""docs/architecture.md names real files and the tests that enforce its rules."""

from __future__ import annotations

import re

from support import PROJECT_DIR

DOC = PROJECT_DIR / "docs" / "architecture.md"


def test_every_path_the_architecture_doc_names_exists() -> None:
    text = DOC.read_text()
    paths = set(re.findall(r"`?((?:components|airlock|runtime|tests|bench|stacks|agents|images)/[\w./<>-]*[\w/])`?", text))
    concrete = sorted(p for p in paths if "<" not in p)
    assert "components/config/" in concrete and "tests/config/test_config_package.py" in concrete
    missing = [p for p in concrete if not (PROJECT_DIR / p).exists()]
    assert missing == []


def test_the_readme_links_the_architecture_doc() -> None:
    assert "(docs/architecture.md)" in (PROJECT_DIR / "README.md").read_text()
