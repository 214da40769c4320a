"""Model prices and the cost of a call.

Resolution order for a route: the spec's ``prices`` override; the built-in table for
known Claude models; 0 for self-hosted endpoints (loopback, in-cluster, private IPs),
since a local vLLM has no per-token list price. Anything else has no known price and
the spec is rejected: a cost budget that silently counts a paid model as free would be
worse than no budget.

Built-in list prices, USD per million input/output tokens (source: Anthropic public
list prices as recorded in REFERENCE.md, 2026; Opus 4/4.1 at their 2025 launch price).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runtime import hosts

if TYPE_CHECKING:
    from runtime.spec import ModelRoute


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float
    source: str

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok) / 1_000_000


SONNET_4 = Price(3.0, 15.0, "Claude Sonnet 4.x list price")
OPUS_45_PLUS = Price(5.0, 25.0, "Claude Opus 4.5+ list price")
OPUS_4_0_1 = Price(15.0, 75.0, "Claude Opus 4/4.1 list price")
HAIKU_45 = Price(1.0, 5.0, "Claude Haiku 4.5 list price")
SELF_HOSTED = Price(0.0, 0.0, "self-hosted endpoint (no per-token price)")

_SONNET = re.compile(r"claude-sonnet-4(?:$|[-.@:])")
_HAIKU = re.compile(r"claude-haiku-4[-.]5(?:$|[-.@:])")
# Opus minor versions are one or two digits; an 8-digit suffix is a date (Opus 4.0).
_OPUS = re.compile(r"claude-opus-4(?:[-.](\d{1,2})(?=$|\D))?")


def builtin_price(model: str) -> Price | None:
    name = model.lower()
    if _SONNET.search(name):
        return SONNET_4
    if _HAIKU.search(name):
        return HAIKU_45
    match = _OPUS.search(name)
    if match:
        minor = int(match.group(1) or 0)
        return OPUS_45_PLUS if minor >= 5 else OPUS_4_0_1
    return None


def price_for(route: ModelRoute) -> Price | None:
    """The price for a route, or None when it is unknown (the spec must set one)."""
    if route.prices is not None:
        return Price(route.prices.input, route.prices.output, "spec prices")
    found = builtin_price(route.model)
    if found is not None:
        return found
    if hosts.is_self_hosted(route.base_url):
        return SELF_HOSTED
    return None
