"""Config files for workloads (squid.conf, the collector's config.yaml), rendered with jinja2.

Templates live in ``templates/`` as real files so a reviewer reads the config a workload
gets, not the Python that prints it. Undefined variables are errors, never empty strings.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import jinja2


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("components.workloads", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # these are config files, not HTML; inputs are validated names
    )


def render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def content_hash(text: str | bytes) -> str:
    """sha256 hex of a rendered config, stamped on pod templates so a change rolls the pods."""
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()
