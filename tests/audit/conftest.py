import sys
from pathlib import Path

import pytest

# Make tests/audit/*.py helpers importable from the tests in this folder.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import PROJECT_DIR  # noqa: E402


class BundleCache:
    """Each shipped stack synthesized at most once per session (a synth takes seconds)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done: dict[str, Path] = {}

    def __call__(self, stack: str) -> Path:
        if stack not in self.done:
            from airlock.synth.run import synthesize

            synthesize(PROJECT_DIR, stack, self.root / stack)
            self.done[stack] = self.root / stack
        return self.done[stack]


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory) -> BundleCache:
    return BundleCache(tmp_path_factory.mktemp("audit-bundles"))
