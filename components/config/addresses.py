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


PRIVATE_RANGES = [
    ipaddress.ip_network("10.0.0.0/8"),
    ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"),
    ipaddress.ip_network("fc00::/7"),
]
