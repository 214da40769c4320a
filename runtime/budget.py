"""Budgets: what a task has spent, its limits, and the check before every model call.

Shaped like pydantic-ai's usage module: usage is a plain record of counters, limits are
typed optional fields (None = unlimited), and the checks are split by phase:

- :meth:`BudgetLimits.check_before_model_call` runs before every model call and raises
  :class:`BudgetExceeded` when a limit is already reached, or when the next call is
  certain to cross it (its prompt is at least as long as the previous one on that route);
- :meth:`BudgetLimits.output_allowance` caps the next call's ``max_tokens`` so that the
  output-token and cost limits cannot be crossed by the call itself.

So a task stops *before* the call that would overspend, never one call later.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.pricing import Price
    from runtime.spec import Budgets


@dataclass(kw_only=True)
class Usage:
    """What a task has spent so far (checkpointed with every step)."""

    steps: int = 0
    """Plan->act->observe iterations started (each begins with a model call)."""
    model_calls: int = 0
    """Model calls that returned a response (HTTP retries of one call count once)."""
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    elapsed_seconds: float = 0.0
    """Wall-clock seconds spent running the task (parked time excluded)."""
    last_input_tokens: dict[str, int] = field(default_factory=dict)
    """Input tokens of the latest call per route: a lower bound for that route's next call."""

    def public(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "model_calls": self.model_calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": round(self.cost_usd, 6),
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Usage:
        return cls(**data)

    def describe(self) -> str:
        return (
            f"{self.steps} steps, {self.model_calls} model calls, {self.input_tokens} input tokens, "
            f"{self.output_tokens} output tokens, ${self.cost_usd:.6f}, {self.elapsed_seconds:.1f}s"
        )


class BudgetExceeded(Exception):
    """A limit is reached; the task ends as budget_exceeded with what it spent."""

    def __init__(self, limit: str, value: float, detail: str, usage: Usage) -> None:
        self.limit = limit
        self.value = value
        self.usage = usage
        super().__init__(f"budget exceeded: {limit}={value:g} {detail} (spent: {usage.describe()})")


@dataclass(frozen=True, kw_only=True)
class BudgetLimits:
    max_steps: int | None = None
    """Maximum steps; checked before a step starts."""
    max_input_tokens: int | None = None
    """Maximum input tokens summed over calls."""
    max_output_tokens: int | None = None
    """Maximum output tokens summed over calls; also caps each call's max_tokens."""
    max_cost_usd: float | None = None
    """Maximum model cost in USD; also caps each call's max_tokens via the output price."""
    max_seconds: float | None = None
    """Maximum wall-clock seconds of work; also bounds each model call's timeout."""

    @classmethod
    def from_spec(cls, budgets: Budgets) -> BudgetLimits:
        return cls(
            max_steps=budgets.max_steps,
            max_input_tokens=budgets.max_input_tokens,
            max_output_tokens=budgets.max_output_tokens,
            max_cost_usd=budgets.max_cost_usd,
            max_seconds=budgets.max_seconds,
        )

    def check_before_model_call(self, usage: Usage, *, route: str, price: Price) -> None:
        if self.max_steps is not None and usage.steps >= self.max_steps:
            raise BudgetExceeded("maxSteps", self.max_steps, f"reached before step {usage.steps + 1}", usage)
        if self.max_seconds is not None and usage.elapsed_seconds >= self.max_seconds:
            raise BudgetExceeded("maxSeconds", self.max_seconds, "reached", usage)
        next_input = usage.last_input_tokens.get(route, 0)
        if self.max_input_tokens is not None:
            if usage.input_tokens >= self.max_input_tokens:
                raise BudgetExceeded("maxInputTokens", self.max_input_tokens, "reached", usage)
            if usage.input_tokens + next_input > self.max_input_tokens:
                raise BudgetExceeded(
                    "maxInputTokens",
                    self.max_input_tokens,
                    f"would be crossed by the next call (its prompt is at least {next_input} tokens)",
                    usage,
                )
        if self.max_output_tokens is not None and usage.output_tokens >= self.max_output_tokens:
            raise BudgetExceeded("maxOutputTokens", self.max_output_tokens, "reached", usage)
        if self.max_cost_usd is not None:
            if usage.cost_usd >= self.max_cost_usd:
                raise BudgetExceeded("maxCostUsd", self.max_cost_usd, "reached", usage)
            if usage.cost_usd + price.cost(next_input, 0) > self.max_cost_usd:
                raise BudgetExceeded(
                    "maxCostUsd",
                    self.max_cost_usd,
                    f"would be crossed by the next call (its prompt is at least {next_input} tokens)",
                    usage,
                )

    def output_allowance(self, usage: Usage, *, route: str, route_max_tokens: int, price: Price) -> int:
        """max_tokens for the next call: the route's cap, lowered to what the budget has left."""
        allowance = route_max_tokens
        if self.max_output_tokens is not None:
            left_tokens = self.max_output_tokens - usage.output_tokens
            if left_tokens < 1:
                raise BudgetExceeded("maxOutputTokens", self.max_output_tokens, "reached", usage)
            allowance = min(allowance, left_tokens)
        if self.max_cost_usd is not None and price.output_per_mtok > 0:
            left_usd = self.max_cost_usd - usage.cost_usd - price.cost(usage.last_input_tokens.get(route, 0), 0)
            affordable = math.floor(left_usd * 1_000_000 / price.output_per_mtok)
            if affordable < 1:
                raise BudgetExceeded("maxCostUsd", self.max_cost_usd, "leaves no room for another call's output", usage)
            allowance = min(allowance, affordable)
        return allowance
