"""Text too big for a DynamoDB item (400 KB) goes to the payload bucket; the item keeps a reference.

The object key names the task, the record and the content's sha256, so a writer that lost
its lease can never overwrite what the lease's new holder wrote, and the reader checks the
object against the digest the item recorded: a changed or missing object is reported as
damaged state, never used.
"""

from __future__ import annotations

import hashlib
from typing import Any

from runtime.errors import StateUnusable

INLINE_LIMIT_BYTES = 350_000
"""Above this, the text is stored in S3 (the item's other attributes and the 400 KB item
limit leave room for the rest)."""


class Payloads:
    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

    def attributes(self, where: str, text: str, attribute: str = "body") -> dict[str, Any]:
        """The item attributes that keep ``text``: inline, or a reference to an S3 object written now."""
        data = text.encode("utf-8")
        if len(data) <= INLINE_LIMIT_BYTES:
            return {attribute: text}
        digest = hashlib.sha256(data).hexdigest()
        key = f"{where}/{digest}.json"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json")
        return {f"{attribute}_s3": key, f"{attribute}_sha256": digest, f"{attribute}_bytes": len(data)}

    def text(self, values: dict[str, Any], attribute: str = "body") -> str | None:
        if attribute in values:
            return str(values[attribute])
        key = values.get(f"{attribute}_s3")
        if key is None:
            return None
        where = f"s3://{self.bucket}/{key}"
        try:
            data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise StateUnusable(f"AIRLOCK_PAYLOAD_BUCKET: cannot read {where}: {exc}") from None
        if hashlib.sha256(data).hexdigest() != values.get(f"{attribute}_sha256"):
            raise StateUnusable(f"AIRLOCK_PAYLOAD_BUCKET: {where} does not match the digest its item recorded (changed?)")
        return bytes(data).decode("utf-8")
