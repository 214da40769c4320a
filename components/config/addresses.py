"""Address ranges the config rules and the NetworkPolicies must agree on."""

from __future__ import annotations

import ipaddress

# Destinations a sandbox must never reach, whatever its allowlist says.
FORBIDDEN_EGRESS = {
    ipaddress.ip_network("169.254.0.0/16"): "link-local, including the instance metadata service 169.254.169.254",
    ipaddress.ip_network("100.64.0.0/10"): "carrier-grade NAT space (100.64.0.0/10)",
    ipaddress.ip_network("127.0.0.0/8"): "loopback",
    ipaddress.ip_network("0.0.0.0/8"): "'this network' (0.0.0.0/8)",
    ipaddress.ip_network("fe80::/10"): "IPv6 link-local",
    ipaddress.ip_network("::1/128"): "IPv6 loopback",
    ipaddress.ip_network("fd00:ec2::254/128"): "the IPv6 instance metadata service fd00:ec2::254",
}


# RFC 1918: where VPCs and private API access may live.
PRIVATE_IPV4_RANGES = [
    ipaddress.IPv4Network("10.0.0.0/8"),
    ipaddress.IPv4Network("172.16.0.0/12"),
    ipaddress.IPv4Network("192.168.0.0/16"),
]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PRIVATE_RANGES: list[Network] = [
    *PRIVATE_IPV4_RANGES,
    ipaddress.IPv6Network("fc00::/7"),
]


def within(inner: Network, outer: Network) -> bool:
    """``inner.subnet_of(outer)``, False across IP versions (subnet_of raises there)."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False
