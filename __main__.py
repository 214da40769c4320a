"""The Pulumi program: load the typed stack config, build the platform, export outputs."""

from pathlib import Path

import pulumi

from components.platform import AgentPlatform, AgentPlatformArgs
from components.program import load_stack_config

loaded = load_stack_config(Path(__file__).resolve().parent)
platform = AgentPlatform("airlock", AgentPlatformArgs(loaded))
for key, value in platform.outputs.items():
    pulumi.export(key, value)
