"""GPU pools on aws: capacity that exists when asked for, and disks that keep up with the weights."""

from __future__ import annotations

from typing import Iterator

from components.config.sizing import weight_gib
from components.config.errors import ConfigIssue, key_path
from components.config.load_time import disk_seconds_per_gib
from components.config.rules.context import RuleContext
from components.config.schema import StackConfig

# Instance families AWS rarely has on demand without a reservation (p4d, p4de, p5, p5e, p5en).
RESERVED_FAMILIES = ("p4d", "p4de", "p5", "p5e", "p5en")
# A start slower than this is past any sensible rollout; say how to speed it up.
SLOW_START_SECONDS = 1800


def pool_capacity_and_storage(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    zones = config.network.availability_zones if config.network else []
    for i, pool in enumerate(config.gpu_pools):
        reservation = pool.capacity_reservation
        if config.platform != "aws":
            for key, value in (("capacityReservation", reservation), ("nodeStorage", None if pool.node_storage == "ebs" else pool.node_storage)):
                if value is not None:
                    yield ConfigIssue(key_path("gpuPools", i, key), "(set)", "applies to platform 'aws' only (the existing nodes are not managed here)")
            continue
        family = (pool.instance_type or "").split(".")[0]
        if reservation is None and pool.capacity_type == "ON_DEMAND" and family in RESERVED_FAMILIES:
            yield ConfigIssue(
                key_path("gpuPools", i, "capacityReservation"),
                None,
                f"{pool.instance_type} is rarely available on demand: the node group can wait for hours with "
                "InsufficientInstanceCapacity. Buy a Capacity Block for ML or an On-Demand Capacity Reservation "
                "in one of the stack's zones and set capacityReservation {id, type, availabilityZone} (docs/aws.md)",
                "warning",
            )
        if reservation is not None:
            if reservation.availability_zone not in (zones or []):
                yield ConfigIssue(
                    key_path("gpuPools", i, "capacityReservation", "availabilityZone"),
                    reservation.availability_zone,
                    f"not one of the stack's zones; allowed: {', '.join(zones or []) or 'none'}",
                )
            if reservation.type == "capacityBlock" and pool.capacity_type == "SPOT":
                yield ConfigIssue(key_path("gpuPools", i, "capacityType"), "SPOT", "a Capacity Block is not spot capacity; allowed: 'ON_DEMAND'")
        if pool.node_storage == "instanceStore" and pool.ami_type != "AL2023_x86_64_NVIDIA":
            yield ConfigIssue(
                key_path("gpuPools", i, "nodeStorage"),
                "instanceStore",
                "RAID0 of the instance store is set up by AL2023's nodeadm; allowed with amiType AL2023_x86_64_NVIDIA, "
                "or use 'ebs' with diskThroughputMibps",
            )
    yield from _slow_starts(config)


def _slow_starts(config: StackConfig) -> Iterator[ConfigIssue]:
    """The startup probe is sized from the weights and the disk, so a slow disk no longer
    kills the pod; it still makes every start (and every rollout) that slow."""
    pools = {p.name: p for p in config.gpu_pools}
    for i, model in enumerate(config.models):
        pool = pools.get(model.pool)
        if pool is None or model.architecture is None:
            continue
        on_disk = model.quantization if model.quantization in ("awq", "gptq") else "none"
        seconds = weight_gib(model.architecture.parameters_billions, on_disk) * disk_seconds_per_gib(model, pool, config.platform)
        if seconds > SLOW_START_SECONDS:
            index = config.gpu_pools.index(pool)
            yield ConfigIssue(
                key_path("gpuPools", index, "nodeStorage"),
                pool.node_storage,
                f"model '{model.name}' writes its weights to a {pool.disk_throughput_mibps} MiB/s gp3 volume shared by "
                f"its replicas on the node: about {seconds / 60:.0f} minutes per start. Use nodeStorage 'instanceStore' "
                "(local NVMe as RAID0) or raise diskThroughputMibps (up to 1000)",
                "warning",
            )
