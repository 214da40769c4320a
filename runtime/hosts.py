"""Where does a URL point? Used by airgapped validation and by the price defaults.

"In cluster" means a Kubernetes service name in one of the forms that cannot resolve
on the internet: a bare single-label name (``vllm``), ``*.svc`` and
``*.svc.<cluster domain>`` (default ``cluster.local``, override with
``AIRLOCK_CLUSTER_DOMAIN``). ``name.namespace`` is not accepted: it is indistinguishable
from a public domain. Loopback is ``localhost``, 127.0.0.0/8 and ::1.
IP literals other than loopback are never "in cluster": an address says nothing about
which network it is on, so an airgapped deployment names its services. Whether a host is
an IP literal is decided by :mod:`runtime.addresses` the way the resolver decides it
(``134744072`` and ``0x08080808`` are 8.8.8.8, not service names; ``::ffff:127.0.0.1`` is
loopback).

The deployment kit validates specs inside a Pulumi program, where the cluster domain is a
fact of the stack, not of the machine running `pulumi up`: :func:`fixed_cluster_domain`
pins it for a block of code without touching the environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import urlsplit

from runtime.addresses import IPAddress, address_class, parse_ip

CLUSTER_DOMAIN_ENV = "AIRLOCK_CLUSTER_DOMAIN"
DEFAULT_CLUSTER_DOMAIN = "cluster.local"

_pinned_domain: ContextVar[str | None] = ContextVar("airlock_cluster_domain", default=None)


def cluster_domain() -> str:
    """The pinned cluster domain, else AIRLOCK_CLUSTER_DOMAIN, else cluster.local."""
    pinned = _pinned_domain.get()
    value = pinned if pinned is not None else os.environ.get(CLUSTER_DOMAIN_ENV, DEFAULT_CLUSTER_DOMAIN)
    return value.lower().strip(".")


@contextmanager
def fixed_cluster_domain(domain: str) -> Iterator[None]:
    token = _pinned_domain.set(domain)
    try:
        yield
    finally:
        _pinned_domain.reset(token)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:  # an unbalanced '[' in the authority
        return ""


def _ip(host: str) -> IPAddress | None:
    return parse_ip(host) if host else None


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip(host)
    return ip is not None and address_class(ip) == "loopback"


def is_in_cluster(host: str) -> bool:
    if not host or _ip(host) is not None:
        return False
    if "." not in host:
        return True  # a bare service name resolves only through the cluster's search path
    return host.endswith(".svc") or host.endswith(".svc." + cluster_domain())


def is_private_ip(host: str) -> bool:
    ip = _ip(host)
    return ip is not None and address_class(ip) == "private"


def is_local_or_cluster(url: str) -> bool:
    """True when the URL cannot leave the cluster: the airgapped rule."""
    host = host_of(url)
    return is_loopback(host) or is_in_cluster(host)


def is_self_hosted(url: str) -> bool:
    """True for endpoints we run ourselves (loopback, cluster, private IPs): zero list price."""
    host = host_of(url)
    return is_loopback(host) or is_in_cluster(host) or is_private_ip(host)
