"""`airlock-runtime serve`: the runtime as a long-running service (docs/runtime.md, docs/api.md).

app.py (HTTP routes) <- auth.py (tokens), errors.py (JSON errors), submit.py (queueing
tasks), events.py (audit tee: events + metrics), workers.py (leases, runners, drain),
metrics.py, approvals_page.py, webhook.py; server.py wires them and runs uvicorn.
"""
