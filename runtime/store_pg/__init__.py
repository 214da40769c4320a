"""PostgreSQL backend of the runtime's store (``AIRLOCK_STORE=postgresql://...``)."""
