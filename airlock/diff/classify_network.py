"""Security groups, the EKS public endpoint and its CIDRs."""

from __future__ import annotations

import ipaddress
from typing import Any

from airlock.diff.model import Classified
from components.config.addresses import Network, within

SG_RULE_TYPES = (
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
)
Rule = tuple[str, str, int, int, str]


def _network(cidr: str) -> Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def _rules(resource_type: str, inputs: dict[str, Any] | None) -> set[Rule]:
    inputs = inputs or {}
    found: set[Rule] = set()
    if resource_type == "aws:ec2/securityGroup:SecurityGroup":
        for direction in ("ingress", "egress"):
            for rule in inputs.get(direction) or []:
                sources = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or []), *(rule.get("securityGroups") or [])]
                sources += ["self"] if rule.get("self") else []
                for source in sources:
                    found.add((direction, str(rule.get("protocol")), int(rule.get("fromPort") or 0), int(rule.get("toPort") or 65535), str(source)))
    elif resource_type in SG_RULE_TYPES and inputs:
        direction = "egress" if "Egress" in resource_type or inputs.get("type") == "egress" else "ingress"
        sources = [inputs.get(k) for k in ("cidrIpv4", "cidrIpv6", "referencedSecurityGroupId", "prefixListId", "sourceSecurityGroupId") if inputs.get(k)]
        sources += list(inputs.get("cidrBlocks") or []) + list(inputs.get("ipv6CidrBlocks") or [])
        for source in sources:
            found.add((direction, str(inputs.get("ipProtocol") or inputs.get("protocol")), int(inputs.get("fromPort") or 0), int(inputs.get("toPort") or 65535), str(source)))
    return found


def _covers(wide: Rule, narrow: Rule) -> bool:
    if wide[0] != narrow[0] or wide[1] not in (narrow[1], "-1") or not (wide[2] <= narrow[2] and narrow[3] <= wide[3]):
        return False
    if wide[4] == narrow[4]:
        return True
    a, b = _network(wide[4]), _network(narrow[4])
    return a is not None and b is not None and within(b, a)


def _describe(rule: Rule) -> str:
    ports = "all ports" if rule[1] == "-1" else f"{rule[1]} {rule[2]}-{rule[3]}"
    return f"{rule[0]} {ports} {'from' if rule[0] == 'ingress' else 'to'} {rule[4]}"


def classify_security_groups(resource_type: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Classified]:
    before, after = _rules(resource_type, old), _rules(resource_type, new)
    found = [Classified("ingress" if r[0] == "ingress" else "egress", "broadening", "security-group", f"now allows {_describe(r)}")
             for r in sorted(after) if not any(_covers(o, r) for o in before)]
    found += [Classified("ingress" if r[0] == "ingress" else "egress", "narrowing", "security-group", f"no longer allows {_describe(r)}")
              for r in sorted(before) if not any(_covers(n, r) for n in after)]
    return found


def _public_cidrs(inputs: dict[str, Any] | None) -> list[str]:
    vpc = (inputs or {}).get("vpcConfig") or {}
    if vpc.get("endpointPublicAccess", True) is False:
        return []
    return list(vpc.get("publicAccessCidrs") or ["0.0.0.0/0"])


def classify_public_api(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[Classified]:
    if old is None or new is None:
        return []
    before, after = _public_cidrs(old), _public_cidrs(new)
    found = []
    for cidr in after:
        net = _network(cidr)
        if not any(net is not None and (o := _network(c)) is not None and within(net, o) for c in before):
            found.append(Classified("vpcConfig.publicAccessCidrs", "broadening", "public-api", f"the cluster API is now reachable from {cidr}"))
    for cidr in before:
        net = _network(cidr)
        if not any(net is not None and (n := _network(c)) is not None and within(net, n) for c in after):
            found.append(Classified("vpcConfig.publicAccessCidrs", "narrowing", "public-api", f"the cluster API is no longer reachable from {cidr}"))
    return found
