import importlib.util
import sys
from pathlib import Path

# Make tests/support.py importable as `support` from every test folder. It is loaded by
# path rather than by putting tests/ on sys.path: tests/runtime/ would then shadow the
# `runtime` package as a namespace package.
_spec = importlib.util.spec_from_file_location("support", Path(__file__).resolve().parent / "support.py")
assert _spec and _spec.loader
support = importlib.util.module_from_spec(_spec)
sys.modules["support"] = support
_spec.loader.exec_module(support)
