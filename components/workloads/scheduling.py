"""How GPU workloads land on GPU pools: one definition of the taint, labels and tolerations.

The node group (GpuNodePool) applies these taints and labels and the model servers use
the matching tolerations and selector; both read them from here, so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config.schema import GpuPoolConfig

GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "true"
GPU_TAINT_EFFECT = "NoSchedule"
POOL_LABEL = "airlock.dev/gpu-pool"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"


@dataclass(frozen=True)
class PoolScheduling:
    node_labels: dict[str, str]
    node_selector: dict[str, str]
    tolerations: list[dict[str, str]]
    taints: list[dict[str, str]]


def pool_scheduling(pool: GpuPoolConfig, platform: str) -> PoolScheduling:
    # On aws the node group sets the labels; on an existing cluster the stack tells us
    # which labels its GPU nodes already carry (gpuPools[].nodeSelector).
    node_labels = {POOL_LABEL: pool.name}
    if pool.gpu_model:
        node_labels[GPU_PRODUCT_LABEL] = pool.gpu_model
    selector = {POOL_LABEL: pool.name} if platform == "aws" else dict(pool.node_selector)
    taint = {"key": GPU_TAINT_KEY, "value": GPU_TAINT_VALUE, "effect": GPU_TAINT_EFFECT}
    # Exists rather than Equal: existing clusters (GPU Operator, Karpenter) taint GPU nodes
    # with nvidia.com/gpu and assorted values; the toleration must match all of them.
    toleration = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT}
    return PoolScheduling(node_labels, selector, [toleration], [taint])
