"""Offline synthesis: run the real Pulumi program on the SDK's mock monitor and write
a deterministic desired-state bundle (see docs/synth.md)."""
