"""Output tokens per second of one model replica: a published figure when the catalog has
one for the same size, GPU, tensor parallelism and precision; otherwise an estimate scaled
from the closest published figure, labelled as such.

Decoding is bound by memory bandwidth: a replica's throughput scales with the bandwidth of
its GPUs (per-GPU bandwidth x tensor parallelism) and, across dense models of the same
precision, inversely with the parameter count (the bytes read per token).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from airlock.cost.bundle_facts import LocalModel
from airlock.cost.catalog import Catalog, Throughput
from airlock.cost.errors import CostError


@dataclass(frozen=True)
class ThroughputFigure:
    tokens_per_s: float
    measured: bool
    basis: str
    source: str


def _describe(entry: Throughput) -> str:
    return f"{entry.params_b:g}B {entry.precision} on {entry.tensor_parallel}x{entry.gpu}: {entry.output_tokens_per_s:g} tok/s ({entry.conditions})"


def replica_throughput(catalog: Catalog, model: LocalModel, gpu: str) -> ThroughputFigure:
    if model.params_b is None:
        raise CostError(
            f"model {model.name} ({model.weights}): its parameter count cannot be read from the weights name, "
            "so no throughput figure applies; name the repository with its size (e.g. ...-8B)"
        )
    tp = model.gpus_per_replica
    for entry in catalog.throughput:
        if (entry.params_b, entry.gpu, entry.tensor_parallel, entry.precision, entry.mixture_of_experts) == (
            model.params_b, gpu, tp, model.precision, model.mixture_of_experts
        ):
            return ThroughputFigure(entry.output_tokens_per_s, True, "measured: " + _describe(entry), entry.source)
    wanted = f"{model.params_b:g}B {model.precision}{' MoE' if model.mixture_of_experts else ''} on {tp}x{gpu}"
    if model.mixture_of_experts:
        # Expert routing breaks the dense bytes-per-token scaling: only a measured figure will do.
        raise CostError(f"model {model.name}: no throughput figure for {wanted} (mixture-of-experts models need a measured entry); add one to throughput with --prices")
    if gpu not in catalog.gpus:
        raise CostError(f"model {model.name}: no throughput figure for {wanted} and no memory bandwidth for GPU {gpu} to estimate one; add gpus.{gpu} with --prices")
    target_bw = catalog.gpus[gpu].memory_bandwidth_gb_s
    candidates = [
        e for e in catalog.throughput
        if e.precision == model.precision and not e.mixture_of_experts and e.gpu in catalog.gpus
    ]
    if not candidates:
        raise CostError(f"model {model.name}: no throughput figure for {wanted} and none in {model.precision} to scale from; add one to throughput with --prices")

    def closeness(e: Throughput) -> tuple[bool, float, bool]:
        # Same size first, then the GPU with the nearest bandwidth, then the same parallelism.
        return (e.params_b != model.params_b, abs(math.log(catalog.gpus[e.gpu].memory_bandwidth_gb_s / target_bw)), e.tensor_parallel != tp)

    basis = min(candidates, key=closeness)
    basis_bw = catalog.gpus[basis.gpu].memory_bandwidth_gb_s
    bandwidth_ratio = (tp * target_bw) / (basis.tensor_parallel * basis_bw)
    size_ratio = basis.params_b / model.params_b
    tokens = basis.output_tokens_per_s * bandwidth_ratio * size_ratio
    steps = f"{basis.output_tokens_per_s:g} x ({tp}x{target_bw:g} GB/s)/({basis.tensor_parallel}x{basis_bw:g} GB/s)"
    if size_ratio != 1:
        steps += f" x {basis.params_b:g}B/{model.params_b:g}B"
    return ThroughputFigure(
        tokens,
        False,
        f"estimate by bandwidth scaling from {_describe(basis)}: {steps}",
        basis.source,
    )
