"""Exceptions that cross module boundaries, grouped by how the CLI must react.

``BadInput`` and its subclasses are the user's to fix (exit status 2, one clear
message, no traceback). Anything else that escapes to the CLI is an internal fault
(exit status 1).
"""

from __future__ import annotations


class BadInput(Exception):
    """Input the user can fix: a spec, an argument, an id, the environment."""


class UnknownTask(BadInput):
    def __init__(self, task_id: str) -> None:
        super().__init__(f"unknown task id {task_id!r}: no such task in this state directory")
        self.task_id = task_id


class UnknownApproval(BadInput):
    def __init__(self, approval_id: str) -> None:
        super().__init__(
            f"unknown approval id {approval_id!r}: no such approval in this state directory "
            "(see `airlock-runtime approvals list`)"
        )
        self.approval_id = approval_id


class TaskBusy(BadInput):
    """The task is being worked on by another live process; two runners would double-execute."""


class StateUnusable(BadInput):
    """The state directory (database or audit log) is missing, damaged or not writable.
    Never answered by starting afresh: that would lose tasks and approvals."""


class SecretUnavailable(BadInput):
    """A secret named in the spec could not be resolved from its source."""
