"""The sandbox executor: runs agents' code with limits (`airlock-sandbox serve`).

See docs/sandboxes.md for the API, the limits and the isolation modes.
"""
