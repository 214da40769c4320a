"""Which model route a step goes to.

The first planning step of a task (its first model call) goes to ``planner`` when the
spec has one; every other step goes to ``default``. Airgapped refusal of cloud routes
happens earlier, at spec validation (see spec.semantic_problems), so a router never
holds a route the profile forbids.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from runtime.errors import BadInput
from runtime.models.base import ModelClient

if TYPE_CHECKING:
    from runtime.spec import AgentSpec


class Router:
    def __init__(self, clients: Mapping[str, ModelClient]) -> None:
        if "default" not in clients:
            raise ValueError("a router needs a 'default' route")
        self.clients = dict(clients)

    def route_for(self, completed_steps: int) -> ModelClient:
        if completed_steps == 0 and "planner" in self.clients:
            return self.clients["planner"]
        return self.clients["default"]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def api_keys(spec: AgentSpec, secrets: Mapping[str, str]) -> dict[str, str | None]:
    """API key per route, from its apiKeyEnv or from the resolved secret its apiKeySecret names.

    A named but unset variable, or an empty secret, is an error: sending no key to a
    server that wants one would only fail later, as a less clear HTTP 401.
    """
    keys: dict[str, str | None] = {}
    for name, route in spec.routes().items():
        if route.api_key_secret is not None:
            # Spec validation guarantees the name is declared; the broker resolved it.
            value = secrets[route.api_key_secret]
            if not value:
                raise BadInput(
                    f"models.{name}.apiKeySecret: secret {route.api_key_secret!r} is empty "
                    "(an API key must not be empty; remove apiKeySecret for a server without authentication)"
                )
            keys[name] = value
            continue
        if route.api_key_env is None:
            keys[name] = None
            continue
        from_env = os.environ.get(route.api_key_env)
        if not from_env:
            raise BadInput(
                f"models.{name}.apiKeyEnv: environment variable {route.api_key_env} is not set "
                "(set it, or remove apiKeyEnv for a server without authentication)"
            )
        keys[name] = from_env
    return keys


def build_router(spec: AgentSpec, keys: Mapping[str, str | None]) -> Router:
    from runtime.models.anthropic import AnthropicMessagesClient
    from runtime.models.openai import OpenAIChatClient

    clients: dict[str, ModelClient] = {}
    for name, route in spec.routes().items():
        cls = OpenAIChatClient if route.provider == "openai" else AnthropicMessagesClient
        clients[name] = cls(name, route, keys.get(name))
    return Router(clients)
