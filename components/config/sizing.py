"""GPU memory sizing of a vLLM replica: weights + worst-case KV cache + runtime headroom.

The KV cache is sized for the worst case the flags allow (every one of --max-num-seqs
sequences at --max-model-len tokens), so a replica that passes this check never has to
preempt requests to honour its own configuration.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.config.catalog import (
    GIB,
    KV_BYTES,
    RUNTIME_OVERHEAD_GIB_PER_GPU,
    WEIGHT_BYTES,
)
from components.config.schema import GpuPoolConfig, ModelConfig


def weight_gib(parameters_billions: float, quantization: str) -> float:
    """GiB of weights of a model this size under ``quantization`` (the cache, fit and start-up sizes)."""
    return parameters_billions * 1e9 * WEIGHT_BYTES[quantization] / GIB


def most_replicas(model: ModelConfig) -> int:
    """Replicas a model may run at once: autoscaling.maxReplicas when it autoscales, else replicas.

    Each of them needs its GPUs, and more than one needs a shared (ReadWriteMany) cache.
    """
    if not model.autoscaling.enabled:
        return model.replicas
    assert model.autoscaling.max_replicas is not None, "the defaults fill maxReplicas with replicas"
    return model.autoscaling.max_replicas


@dataclass(frozen=True)
class ReplicaMemory:
    weights_gib: float
    kv_cache_gib: float
    overhead_gib: float
    available_gib: float

    @property
    def required_gib(self) -> float:
        return self.weights_gib + self.kv_cache_gib + self.overhead_gib

    @property
    def fits(self) -> bool:
        return self.required_gib <= self.available_gib


def kv_bytes_per_token(model: ModelConfig) -> float:
    arch = model.architecture
    assert arch is not None, "architecture is filled from the catalog or required by validation"
    # K and V, per layer, per KV head, per head dimension.
    return 2 * arch.layers * arch.kv_heads * arch.head_dim * KV_BYTES[model.kv_cache_dtype]


def replica_memory(model: ModelConfig, pool: GpuPoolConfig) -> ReplicaMemory:
    arch = model.architecture
    assert arch is not None and pool.gpu_memory_gib is not None
    tp = model.tensor_parallel_size
    return ReplicaMemory(
        weights_gib=weight_gib(arch.parameters_billions, model.quantization),
        kv_cache_gib=model.max_model_len * model.max_num_seqs * kv_bytes_per_token(model) / GIB,
        overhead_gib=RUNTIME_OVERHEAD_GIB_PER_GPU * tp,
        available_gib=tp * pool.gpu_memory_gib * model.gpu_memory_utilization,
    )
