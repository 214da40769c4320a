"""Local models: they fit their pool, their weights can be reached, and serving them works."""

from __future__ import annotations

from collections import Counter
from pathlib import PurePosixPath
from typing import Iterator

from components.config.endpoints import parse_endpoint_or_none
from components.config.errors import ConfigIssue, key_path
from components.config.rules.context import RuleContext
from components.config.schema import MODEL_CACHE_MOUNT, StackConfig
from components.config.sizing import most_replicas, replica_memory
from components.config.tool_calling import TOOL_CALL_PARSERS


def models_fit(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    pools = {pool.name: pool for pool in config.gpu_pools}
    gpus_claimed: Counter[str] = Counter()
    for i, model in enumerate(config.models):
        pool = pools.get(model.pool)
        if pool is None:
            yield ConfigIssue(
                key_path("models", i, "pool"), model.pool, f"no such GPU pool; allowed: {', '.join(sorted(pools)) or 'none defined in gpuPools'}"
            )
            continue
        if model.architecture is None:
            yield ConfigIssue(
                key_path("models", i, "architecture"),
                None,
                f"required: '{model.hugging_face_id}' is not in the built-in catalog; give parametersBillions, layers, kvHeads and headDim from its config.json",
            )
            continue
        gpus = pool.gpus_per_node
        if gpus is None or pool.gpu_memory_gib is None:
            continue  # reported by gpu_pools
        tp = model.tensor_parallel_size
        if gpus % tp != 0:
            allowed = ", ".join(str(d) for d in range(1, gpus + 1) if gpus % d == 0)
            yield ConfigIssue(
                key_path("models", i, "tensorParallelSize"), tp, f"must divide gpusPerNode ({gpus}) of pool '{pool.name}'; allowed: {allowed}"
            )
            continue
        memory = replica_memory(model, pool)
        if not memory.fits:
            yield ConfigIssue(
                key_path("models", i),
                model.name,
                f"does not fit pool '{pool.name}': needs {memory.required_gib:.1f} GiB per replica (weights "
                f"{memory.weights_gib:.1f} + KV cache {memory.kv_cache_gib:.1f} for maxModelLen {model.max_model_len} x "
                f"maxNumSeqs {model.max_num_seqs} + overhead {memory.overhead_gib:.1f}) but {tp} x {pool.gpu_memory_gib} GiB x "
                f"gpuMemoryUtilization {model.gpu_memory_utilization} = {memory.available_gib:.1f} GiB; lower maxModelLen or "
                "maxNumSeqs, quantize, or raise tensorParallelSize",
            )
        # An autoscaled model may grow to maxReplicas; every one of them needs its GPUs.
        gpus_claimed[pool.name] += tp * most_replicas(model)
        yield from _weights_location(i, model)
    for name, claimed in gpus_claimed.items():
        yield from _pool_capacity(config, pools[name], claimed)


def _pool_capacity(config: StackConfig, pool, claimed: int) -> Iterator[ConfigIssue]:
    """Airlock installs no node autoscaler (Karpenter, Cluster Autoscaler): a pool runs its
    desiredSize nodes, and a replica (or a KEDA scale-out) beyond them stays Pending."""
    nodes = pool.desired_size if pool.desired_size is not None else pool.min_size
    capacity = nodes * (pool.gpus_per_node or 0)
    if claimed > capacity:
        index = config.gpu_pools.index(pool)
        yield ConfigIssue(
            key_path("gpuPools", index, "desiredSize"),
            nodes,
            f"models on pool '{pool.name}' need {claimed} GPUs (replicas, or autoscaling.maxReplicas, x tensorParallelSize) "
            f"but the pool runs {nodes} nodes x {pool.gpus_per_node} GPUs = {capacity}; no node autoscaler adds nodes "
            "(maxSize only bounds manual scaling), so raise desiredSize (and maxSize) or lower replicas/maxReplicas",
        )


def s3_weights_need_aws(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """Streaming weights from S3 needs credentials; only the aws platform provides them (IRSA)."""
    if config.platform != "kubernetes":
        return
    for i, model in enumerate(config.models):
        if model.weights_source == "s3":
            yield ConfigIssue(
                key_path("models", i, "weightsSource"),
                "s3",
                "on platform 'kubernetes' model servers have no S3 credentials; allowed: 'pvc' (pre-staged weights) "
                "or, in cloud and hybrid stacks, 'huggingface'",
            )


def _weights_location(i: int, model) -> Iterator[ConfigIssue]:
    uri = model.weights_uri
    path = key_path("models", i, "weightsUri")
    if model.weights_source == "huggingface" and uri:
        yield ConfigIssue(path, uri, "only for weightsSource 's3' or 'pvc'; remove it to download from Hugging Face")
    if model.weights_source == "s3" and not (uri or "").startswith("s3://"):
        yield ConfigIssue(path, uri, "weightsSource 's3' needs the mirror as s3://bucket/prefix")
    if model.weights_source == "pvc" and not (uri or "").startswith("/"):
        yield ConfigIssue(path, uri, "weightsSource 'pvc' needs the absolute path of the weights on the cache volume (e.g. /models/llama-70b)")
    if model.weights_source == "pvc" and (uri or "").startswith("/") and not _under_cache_mount(uri or ""):
        yield ConfigIssue(
            path,
            uri,
            f"pre-staged weights are read from the cache volume, mounted at {MODEL_CACHE_MOUNT}; allowed: a path under "
            f"{MODEL_CACHE_MOUNT}/ without '..' (e.g. {MODEL_CACHE_MOUNT}/{model.hugging_face_id})",
        )
    if model.weights_source == "pvc" and model.cache.type != "pvc":
        yield ConfigIssue(key_path("models", i, "cache", "type"), model.cache.type, "pre-staged weights live on a PVC; allowed: 'pvc'")
    if model.weights_source == "pvc" and not model.cache.existing_claim:
        yield ConfigIssue(
            key_path("models", i, "cache", "existingClaim"), None, "weightsSource 'pvc' needs the name of the PVC that holds the pre-staged weights"
        )
    if model.cache.existing_claim and model.weights_source != "pvc":
        yield ConfigIssue(
            key_path("models", i, "cache", "existingClaim"), model.cache.existing_claim, "only for weightsSource 'pvc' (pre-staged weights)"
        )


def _under_cache_mount(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return path.startswith(f"{MODEL_CACHE_MOUNT}/") and ".." not in parts and len(parts) > 2


def model_serving(config: StackConfig, ctx: RuleContext) -> Iterator[ConfigIssue]:
    """What the model-server Deployments need beyond fitting their pool."""
    for i, model in enumerate(config.models):
        if model.tool_calling and model.tool_call_parser is None:
            yield ConfigIssue(
                key_path("models", i, "toolCallParser"),
                None,
                f"no default for {model.hugging_face_id!r} (docs/workloads.md lists the families Airlock knows): name the "
                f"parser for its tool-call format, one of {', '.join(TOOL_CALL_PARSERS)}; or set toolCalling: false "
                "(then no agent with tools can use this model)",
            )
        autoscaling = model.autoscaling
        if autoscaling.enabled and autoscaling.max_replicas is not None and autoscaling.max_replicas < model.replicas:
            yield ConfigIssue(
                key_path("models", i, "autoscaling", "maxReplicas"),
                autoscaling.max_replicas,
                f"smaller than replicas ({model.replicas}), the autoscaling minimum; allowed: {model.replicas} or more",
            )
        prometheus = parse_endpoint_or_none(autoscaling.prometheus_url)
        if autoscaling.enabled and prometheus is not None and not prometheus.in_cluster:
            yield ConfigIssue(
                key_path("models", i, "autoscaling", "prometheusUrl"),
                autoscaling.prometheus_url,
                "is not an in-cluster Service (http://<service>.<namespace>.svc:<port>); model servers admit metric "
                "scrapes only from the namespace this URL names, so KEDA would see no vllm:num_requests_waiting",
                "warning",
            )
        most = most_replicas(model)
        cache = model.cache
        if cache.type == "pvc" and not cache.existing_claim and most > 1 and cache.storage_class is None:
            yield ConfigIssue(
                key_path("models", i, "cache", "storageClass"),
                None,
                f"up to {most} replicas share one cache PVC, which needs a ReadWriteMany StorageClass (EFS, NFS, CephFS); "
                "the cluster's default class (EBS on EKS) is ReadWriteOnce and would leave replicas Pending. Name an RWX "
                "class, or use cache.type 'emptyDir' (a cache per pod, refilled on start)",
                "warning",
            )
