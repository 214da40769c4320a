"""The CrossGuard policy pack: ``pulumi preview --policy-pack policy``.

The engine runs this file; PolicyPack starts the Analyzer gRPC server, prints its port and
blocks. Never import this module from other code.
"""

import sys
from pathlib import Path

# Run as a script, this directory is sys.path[0]; the project root must be there instead so
# `policy` (and `runtime`, for the route checks) import as packages.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from pulumi_policy import PolicyPack  # noqa: E402

from policy.crossguard import PACK_NAME, build_policies  # noqa: E402
from policy.rules import RULES  # noqa: E402

PolicyPack(name=PACK_NAME, policies=build_policies(RULES))
