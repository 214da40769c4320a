"""The single DynamoDB table, with the few shapes of request the backend makes.

Every read is strongly consistent (a worker must see the checkpoint the previous holder
committed); every write that must not be lost or doubled carries a condition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from runtime.store_aws.errors import cancellation_reasons, is_condition_failed, was_retried
from runtime.store_aws.items import from_item, key, to_item, to_values

_NAME = re.compile(r"#([A-Za-z_][A-Za-z0-9_]*)")


def _names(*expressions: str) -> dict[str, str]:
    """``#attr`` placeholders used in the expressions (every attribute is named: no reserved-word surprises)."""
    return {f"#{n}": n for e in expressions for n in _NAME.findall(e)}


@dataclass
class Change:
    """One UpdateItem: SET these values, ADD these numbers, REMOVE these attributes, if ``condition``."""

    pk: str
    sk: str
    set: dict[str, Any] = field(default_factory=dict)
    add: dict[str, int] = field(default_factory=dict)
    remove: Sequence[str] = ()
    condition: str | None = None
    values: dict[str, Any] = field(default_factory=dict)  # extra ``:name`` values the condition uses

    def request(self, table: str) -> dict[str, Any]:
        parts = []
        if self.set:
            parts.append("SET " + ", ".join(f"#{k} = :{k}" for k in self.set))
        if self.add:
            parts.append("ADD " + ", ".join(f"#{k} :{k}" for k in self.add))
        if self.remove:
            parts.append("REMOVE " + ", ".join(f"#{k}" for k in self.remove))
        expression = " ".join(parts)
        request: dict[str, Any] = {
            "TableName": table,
            "Key": key(self.pk, self.sk),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": _names(expression, self.condition or ""),
        }
        values = {**self.set, **self.add, **self.values}
        if values:
            request["ExpressionAttributeValues"] = to_values(values)
        if self.condition:
            request["ConditionExpression"] = self.condition
        return request


@dataclass
class New:
    """One PutItem of an item that must not exist yet (or ``condition``)."""

    pk: str
    sk: str
    values: dict[str, Any]
    condition: str | None = "attribute_not_exists(#pk)"

    def request(self, table: str) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": table, "Item": to_item({"pk": self.pk, "sk": self.sk, **self.values})}
        if self.condition:
            request["ConditionExpression"] = self.condition
            request["ExpressionAttributeNames"] = _names(self.condition)
        return request


class Table:
    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def query(
        self, pk: str, prefix: str = "", *, after: str | None = None, newest_first: bool = False, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Items of one partition whose sk starts with ``prefix`` (and sorts after ``after``), in sk order."""
        condition = "#pk = :pk"
        values: dict[str, Any] = {"pk": pk}
        if after is not None:
            condition += " AND #sk BETWEEN :after AND :end"
            values.update(after=after + "\x00", end=prefix + "\U0010ffff")
        elif prefix:
            condition += " AND begins_with(#sk, :prefix)"
            values["prefix"] = prefix
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": _names(condition),
            "ExpressionAttributeValues": to_values(values),
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        if limit is not None:
            request["Limit"] = limit
        returned = 0
        while True:
            page = self.client.query(**request)
            for item in page.get("Items", []):
                yield from_item(item)
                returned += 1
                if limit is not None and returned >= limit:
                    return
            start = page.get("LastEvaluatedKey")
            if not start:
                return
            request["ExclusiveStartKey"] = start

    def update(self, change: Change, *, returning: str = "NONE") -> dict[str, Any]:
        """UpdateItem. A conditional update refused only on botocore's retry, with the item
        already holding what it writes, was done by the first attempt: success (returning
        nothing, as the first attempt's answer is gone)."""
        try:
            answer = self.client.update_item(**change.request(self.name), ReturnValues=returning)
        except ClientError as exc:
            if is_condition_failed(exc) and was_retried(exc) and self.holds(change):
                return {}
            raise
        return from_item(answer.get("Attributes") or {})

    def put(self, new: New) -> None:
        """PutItem; a retry that meets its own first attempt is success (see :meth:`update`)."""
        try:
            self.client.put_item(**new.request(self.name))
        except ClientError as exc:
            if is_condition_failed(exc) and was_retried(exc) and self.holds(new):
                return
            raise

    def transact(self, writes: Sequence[Change | New]) -> None:
        """All of ``writes`` or none (TransactWriteItems: at most 100 items, 4 MB).

        botocore gives the call a ClientRequestToken, so DynamoDB itself answers a retry of a
        transaction it already did (for ten minutes); a server that does not (moto), or a retry
        after that, meets its own conditions: if every item holds what the transaction wrote,
        the first attempt did it.
        """
        items = [
            {"Update": w.request(self.name)} if isinstance(w, Change) else {"Put": w.request(self.name)} for w in writes
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if cancellation_reasons(exc) and was_retried(exc) and all(self.holds(w) for w in writes):
                return
            raise

    def holds(self, write: Change | New) -> bool:
        """Whether the item already holds everything ``write`` puts or sets and none of what it removes.

        That tells a retried write that met its own first attempt from a real conflict: the
        values written include the writer's own timestamps, tokens and owner ids, so another
        writer leaves the item different. (An ``add`` is not compared: it is applied with the
        ``set`` of the same update or not at all.)
        """
        current = self.get(write.pk, write.sk)
        if current is None:
            return False
        if isinstance(write, New):
            return current == from_item(to_item({"pk": write.pk, "sk": write.sk, **write.values}))
        if not write.set and not write.remove:
            return False  # nothing that could tell whose write it was
        wanted = from_item(to_item(write.set))
        return all(current.get(name) == value for name, value in wanted.items()) and not any(
            name in current for name in write.remove
        )
