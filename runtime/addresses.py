"""What address a host really names, decided the way the resolver and the HTTP client will.

A URL's host is not judged by its spelling. ``134744072``, ``0x08080808``, ``010.010.010.010``
and ``8.8.2056`` are all IPv4 literals to ``getaddrinfo`` (inet_aton's forms: one to four
parts, each decimal, ``0x`` hex or ``0`` octal), and ``::ffff:8.8.8.8`` or
``64:ff9b::808:808`` reach 8.8.8.8 too. So every host is first parsed as those forms; only
what is no address at all is a name. The address is then classed after unwrapping the IPv4
it embeds (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16).

This is the one place that answers "where does this host point" for the runtime (airgapped
routes, telemetry and webhook endpoints, proxy variables) and for the stack config rules
(cloud model URLs, sandbox egress CIDRs).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

AddressClass = Literal[
    "loopback", "link-local", "private", "shared", "unspecified", "multicast", "reserved", "public"
]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
_IPV6_METADATA = ipaddress.ip_address("fd00:ec2::254")

_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*", re.ASCII)


def _inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """glibc inet_aton: 'a', 'a.b', 'a.b.c', 'a.b.c.d', each part decimal, hex or octal."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
        return None
    if any(p.lower() == "0x" for p in parts):
        return None
    values = [int(p, 16) if p[:2].lower() == "0x" else int(p, 8) if p.startswith("0") else int(p) for p in parts]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number * 256 + v
    number = number * 256 ** (4 - len(head)) + last
    return ipaddress.IPv4Address(number)


def parse_ip(host: str) -> IPAddress | None:
    """The address a URL host names, or None when it is a DNS name. Brackets and a zone id
    (``[fe80::1%eth0]``) and a trailing dot are accepted as the client accepts them."""
    text = host.strip().lower().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return _inet_aton(text)


def embedded_ipv4(ip: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 form reaches (mapped, compatible, NAT64, 6to4), else ip."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    packed = int(ip)
    if packed >> 32 == 0 and packed > 1:  # ::a.b.c.d (deprecated IPv4-compatible), not :: or ::1
        return ipaddress.IPv4Address(packed)
    return ip


def address_class(ip: IPAddress) -> AddressClass:
    ip = embedded_ipv4(ip)
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local or ip == _IPV6_METADATA:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("0.0.0.0/8"):
        return "unspecified"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    return "public"


def host_class(host: str) -> AddressClass | Literal["name"]:
    """The class of the address a host names, or "name" for a DNS name."""
    ip = parse_ip(host)
    return "name" if ip is None else address_class(ip)


# IPv6 spellings of IPv4 space: (prefix, where the IPv4 address sits: "low32" or "6to4").
_IPV4_WRAPPERS = (
    (ipaddress.IPv6Network("::ffff:0:0/96"), "low32"),  # IPv4-mapped
    (ipaddress.IPv6Network("::/96"), "low32"),  # IPv4-compatible (deprecated, still routed by some stacks)
    (_NAT64, "low32"),  # NAT64 well-known prefix
    (_NAT64_LOCAL, "low32"),  # NAT64 local-use prefix (RFC 8215)
    (_SIX_TO_FOUR, "6to4"),
)


def normalize_network(network: IPNetwork) -> IPNetwork:
    """An IPv6 network that spells IPv4 space (``::ffff:0:0/96``, ``64:ff9b::a9fe:a9fe/128``,
    ``2002:a9fe:a9fe::/48``) as the IPv4 network it reaches, so that every check written for
    IPv4 ranges applies to it; one that contains such a prefix reaches all of IPv4."""
    if isinstance(network, ipaddress.IPv4Network):
        return network
    for wrapper, layout in _IPV4_WRAPPERS:
        if network.subnet_of(wrapper):
            if layout == "6to4":
                base, bits = (int(network.network_address) >> 80) & 0xFFFFFFFF, min(32, network.prefixlen - 16)
            elif network.prefixlen >= 96:
                base, bits = int(network.network_address) & 0xFFFFFFFF, network.prefixlen - 96
            else:  # a local-use NAT64 network wider than /96: any IPv4 address
                base, bits = 0, 0
            return ipaddress.IPv4Network((base, bits), strict=False)
        if network.overlaps(wrapper):  # the network contains the whole wrapper
            return ipaddress.IPv4Network("0.0.0.0/0")
    return network
