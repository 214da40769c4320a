"""Model clients: one per wire protocol, all returning the same ModelResponse."""
