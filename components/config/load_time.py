"""How fast a node's disk takes the weights a model server writes at start.

Weights downloaded from Hugging Face land in the model cache first; with ``cache.type:
emptyDir`` that is the node's disk, shared by every replica on the node. A gp3 volume
writes at its provisioned throughput (AWS's baseline is 125 MiB/s), so two 70B replicas
on one p5 (about 131 GiB each) need over half an hour; the local NVMe instance store of
GPU instances, assembled as RAID0, writes faster than any source here delivers, so it
never limits. S3 weights stream into GPU memory (RunAI streamer) and PVC caches live on
their own volumes: neither writes to the node's disk.
"""

from __future__ import annotations

from components.config.schema import GpuPoolConfig, ModelConfig

MIB_PER_GIB = 1024


def replicas_per_node(model: ModelConfig, pool: GpuPoolConfig) -> int:
    most = (model.autoscaling.max_replicas or model.replicas) if model.autoscaling.enabled else model.replicas
    per_node = max(1, (pool.gpus_per_node or 1) // model.tensor_parallel_size)
    return max(1, min(most, per_node))


def disk_seconds_per_gib(model: ModelConfig, pool: GpuPoolConfig | None, platform: str) -> float:
    """Seconds per GiB of weights the node's disk needs (0: the disk never limits)."""
    if platform != "aws" or pool is None or model.weights_source == "s3" or model.cache.type != "emptyDir":
        return 0.0
    if pool.node_storage == "instanceStore":
        return 0.0
    return MIB_PER_GIB * replicas_per_node(model, pool) / pool.disk_throughput_mibps
