"""Facts the config validator needs but a user should not have to type.

Two small catalogs:

* ``GPU_INSTANCES``: what an AWS GPU instance type carries (GPU model, count and
  memory per GPU), so a pool only has to name its instance type and a typo in
  ``gpusPerNode`` is caught instead of scheduling Pending pods forever.
* ``MODEL_ARCHITECTURES``: the numbers that size a model's weights and KV cache,
  keyed by Hugging Face repository id, so the "does it fit" rule needs no guesswork.
  Models outside the catalog state their ``architecture`` explicitly.

GPU memory is the total that ``nvidia-smi`` reports on the instance (MiB / 1024), not
the marketing figure: an "80 GB" H100 shows 81559 MiB, and vLLM's
``--gpu-memory-utilization`` is a fraction of what the driver reports.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuInstance:
    gpu_model: str
    gpus: int
    gpu_memory_gib: float


def _family(gpu_model: str, memory_gib: float, sizes: dict[str, int]) -> dict[str, GpuInstance]:
    return {size: GpuInstance(gpu_model, gpus, memory_gib) for size, gpus in sizes.items()}


GPU_INSTANCES: dict[str, GpuInstance] = {
    **_family("A10G", 22.5, {
        "g5.xlarge": 1, "g5.2xlarge": 1, "g5.4xlarge": 1, "g5.8xlarge": 1, "g5.16xlarge": 1,
        "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
    }),
    **_family("L4", 22.5, {
        "g6.xlarge": 1, "g6.2xlarge": 1, "g6.4xlarge": 1, "g6.8xlarge": 1, "g6.16xlarge": 1,
        "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8,
    }),
    **_family("L40S", 45.0, {
        "g6e.xlarge": 1, "g6e.2xlarge": 1, "g6e.4xlarge": 1, "g6e.8xlarge": 1, "g6e.16xlarge": 1,
        "g6e.12xlarge": 4, "g6e.24xlarge": 4, "g6e.48xlarge": 8,
    }),
    **_family("A100-40GB", 40.0, {"p4d.24xlarge": 8}),
    **_family("A100-80GB", 80.0, {"p4de.24xlarge": 8}),
    **_family("H100", 79.6, {"p5.48xlarge": 8}),
    **_family("H200", 140.4, {"p5e.48xlarge": 8, "p5en.48xlarge": 8}),
}


@dataclass(frozen=True)
class ModelArchitecture:
    parameters_billions: float
    layers: int
    kv_heads: int
    head_dim: int


MODEL_ARCHITECTURES: dict[str, ModelArchitecture] = {
    # Values from each repository's config.json (num_hidden_layers, num_key_value_heads,
    # head_dim or hidden_size / num_attention_heads) and its published parameter count.
    "meta-llama/Llama-3.1-8B-Instruct": ModelArchitecture(8.03, 32, 8, 128),
    "meta-llama/Llama-3.1-70B-Instruct": ModelArchitecture(70.6, 80, 8, 128),
    "meta-llama/Llama-3.3-70B-Instruct": ModelArchitecture(70.6, 80, 8, 128),
    "Qwen/Qwen3-8B": ModelArchitecture(8.19, 36, 8, 128),
    "Qwen/Qwen3-32B": ModelArchitecture(32.8, 64, 8, 128),
    "Qwen/Qwen3-Coder-30B-A3B-Instruct": ModelArchitecture(30.5, 48, 4, 128),
    "Qwen/Qwen2.5-7B-Instruct": ModelArchitecture(7.62, 28, 4, 128),
    "Qwen/Qwen2.5-72B-Instruct": ModelArchitecture(72.7, 80, 8, 128),
    "mistralai/Mistral-7B-Instruct-v0.3": ModelArchitecture(7.25, 32, 8, 128),
}

# Bytes per weight for each quantization scheme vLLM loads.
WEIGHT_BYTES = {"none": 2.0, "fp8": 1.0, "awq": 0.5, "gptq": 0.5}
# Bytes per KV-cache element for --kv-cache-dtype.
KV_BYTES = {"auto": 2.0, "fp8": 1.0}
# Per-GPU headroom vLLM needs besides weights and KV cache (activations, CUDA graphs,
# NCCL buffers). vLLM measures this at start-up; 1 GiB is a conservative floor for
# the context lengths this kit defaults to, documented in docs/profiles.md.
RUNTIME_OVERHEAD_GIB_PER_GPU = 1.0

GIB = 1024**3
