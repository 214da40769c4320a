"""Errors ``airlock cost`` reports as bad input (exit 2): one message naming what is wrong."""

from __future__ import annotations


class CostError(Exception):
    """A missing price, an unusable prices file, a bundle that cannot be priced."""
