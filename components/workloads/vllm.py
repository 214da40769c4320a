"""How one configured model becomes a vLLM container: flags, probes, env, volumes, resources.

Pure functions of the model config (and the stack's profile), so the flags a pod gets can
be computed and checked without Pulumi. Flags follow REFERENCE.md: a stable
``--served-model-name``, pinned ``--revision``, TP = GPUs per replica, the sizes the fit
rule checked (``--max-model-len``, ``--max-num-seqs``, ``--gpu-memory-utilization``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from decimal import Decimal
from dataclasses import dataclass

from components.config.schema import MODEL_CACHE_MOUNT, ModelConfig, Profile, SecretConfig
from components.config.defaults import PROFILES
from components.config.quantities import parse_quantity
from components.config.sizing import weight_gib
from components.workloads.endpoints import NO_PROXY, VLLM_PORT, proxy_url
from components.workloads.pod_security import Resources, Spec, empty_dir, env_from_secret, env_value, http_get, mount
from components.workloads.proxy_routes import ProxyClient

HF_HOME = f"{MODEL_CACHE_MOUNT}/huggingface"
API_KEY_SECRET = "vllm-api-key"
API_KEY_KEY = "api-key"
HF_TOKEN_ENTRY = "hf-token"  # the airlock:secrets entry holding a Hugging Face token
HF_TOKEN_SECRET = "hf-token"
HF_TOKEN_DIR = "/var/run/secrets/airlock/hf-token"
VLLM_UID = 1000
TMP_GIB = 20  # torch.compile / Triton caches and vLLM's own scratch files

# Start-up budget: a fixed part (CUDA init, graph capture) plus seconds per GiB of weights,
# by where the weights come from (a download is slower than a streamed mirror or a local disk).
STARTUP_BASE_SECONDS = 300
LOAD_SECONDS_PER_GIB = {"huggingface": 8.0, "s3": 3.0, "pvc": 2.0}
STARTUP_PERIOD_SECONDS = 10
MIN_STARTUP_FAILURES = 30


def model_source(model: ModelConfig) -> str:
    """The positional model argument: the Hub id, the S3 mirror, or the pre-staged path."""
    if model.weights_source == "huggingface":
        return model.hugging_face_id
    assert model.weights_uri, "weightsUri is required for 's3' and 'pvc' (config rule)"
    return model.weights_uri


def vllm_args(model: ModelConfig) -> list[str]:
    args = [
        model_source(model),
        "--served-model-name", model.name,
        "--host", "0.0.0.0",
        "--port", str(VLLM_PORT),
        "--tensor-parallel-size", str(model.tensor_parallel_size),
        "--max-model-len", str(model.max_model_len),
        "--max-num-seqs", str(model.max_num_seqs),
        "--gpu-memory-utilization", f"{model.gpu_memory_utilization:g}",
        "--dtype", model.dtype,
        "--revision", model.revision,
        "--enable-prefix-caching" if model.enable_prefix_caching else "--no-enable-prefix-caching",
    ]
    if model.quantization != "none":
        args += ["--quantization", model.quantization]
    if model.kv_cache_dtype != "auto":
        args += ["--kv-cache-dtype", model.kv_cache_dtype]
    if model.tool_calling:
        # Agents send tool_choice "auto"; without these two flags vLLM answers HTTP 400.
        assert model.tool_call_parser, "filled by the family default or required by a config rule"
        args += ["--enable-auto-tool-choice", "--tool-call-parser", model.tool_call_parser]
    if model.chat_template:
        args += ["--chat-template", model.chat_template]
    if model.weights_source == "s3":
        # Streams safetensors from S3 straight into GPU memory, no local copy; its host
        # buffer is capped so the stream cannot push the pod past its memory limit.
        args += ["--load-format", "runai_streamer"]
        args += ["--model-loader-extra-config", json.dumps({"memory_limit": streamer_memory_bytes(model)})]
    return args


# The RunAI streamer's host buffer: a quarter of the pod's memory limit (the engine,
# pinned buffers and the memory-backed /dev/shm need the rest), at most 8 GiB.
STREAMER_MEMORY_SHARE = 0.25
STREAMER_MEMORY_MAX_BYTES = 8 * 1024**3


def streamer_memory_bytes(model: ModelConfig) -> int:
    assert model.resources.memory_limit, "filled by profile defaults"
    limit = parse_quantity(model.resources.memory_limit)
    share: Decimal = limit * Decimal(str(STREAMER_MEMORY_SHARE))
    return int(min(share, Decimal(STREAMER_MEMORY_MAX_BYTES)))


def download_gib(model: ModelConfig) -> float:
    """Bytes that have to be read at start. fp8 is usually quantized on load from a bf16
    checkpoint, so only 4-bit formats count as smaller on disk."""
    assert model.architecture is not None
    on_disk = model.quantization if model.quantization in ("awq", "gptq") else "none"
    return weight_gib(model.architecture.parameters_billions, on_disk)


def startup_seconds(model: ModelConfig, disk_seconds_per_gib: float = 0.0) -> int:
    """The slower of the source and the node's disk (components.config.load_time) sets the pace."""
    per_gib = max(LOAD_SECONDS_PER_GIB[model.weights_source], disk_seconds_per_gib)
    return int(STARTUP_BASE_SECONDS + download_gib(model) * per_gib)


def probes(model: ModelConfig, disk_seconds_per_gib: float = 0.0) -> dict[str, Spec]:
    """/health answers only once the engine is up, and needs no API key (the /v1 routes do,
    and a key in a probe header would be a literal secret in the manifest). The start-up
    probe's budget grows with the weights; liveness only starts counting after it."""
    failures = max(MIN_STARTUP_FAILURES, math.ceil(startup_seconds(model, disk_seconds_per_gib) / STARTUP_PERIOD_SECONDS))
    return {
        "startup": http_get("/health", "http", period=STARTUP_PERIOD_SECONDS, failures=failures, timeout=5),
        "readiness": http_get("/health", "http", period=5, failures=3, timeout=5),
        "liveness": http_get("/health", "http", period=10, failures=3, timeout=10),
    }


def shm_gib(model: ModelConfig) -> int:
    """NCCL exchanges tensors through /dev/shm between tensor-parallel workers."""
    return min(2 * model.tensor_parallel_size, 16)


@dataclass(frozen=True)
class CacheVolume:
    volume: Spec
    read_only: bool
    # emptyDir caches count against the pod's ephemeral storage.
    ephemeral_gib: int


def cache_volume(model: ModelConfig, claim_name: str | None) -> CacheVolume:
    cache = model.cache
    size = cache.size_gib or 50
    if cache.existing_claim:
        return CacheVolume({"name": "cache", "persistentVolumeClaim": {"claimName": cache.existing_claim, "readOnly": True}}, True, 0)
    if cache.type == "emptyDir":
        return CacheVolume(empty_dir("cache", f"{size}Gi"), False, size)
    assert claim_name, "a pvc cache needs its claim"
    return CacheVolume({"name": "cache", "persistentVolumeClaim": {"claimName": claim_name}}, False, 0)


def resources(model: ModelConfig, cache: CacheVolume) -> Resources:
    r = model.resources
    assert r.cpu_request and r.memory_request and r.cpu_limit and r.memory_limit, "filled by profile defaults"
    ephemeral = f"{TMP_GIB + cache.ephemeral_gib + 1}Gi"
    gpus = str(model.tensor_parallel_size)
    return Resources(r.cpu_request, r.memory_request, r.cpu_limit, r.memory_limit, ephemeral, ephemeral, {"nvidia.com/gpu": gpus})


@dataclass(frozen=True)
class HubAccess:
    """What the stack allows model servers towards the Hugging Face Hub."""

    # The profile lets anything reach the internet (never airgapped).
    internet: bool
    # ... and the stack has a secrets entry for a Hub token (HF_TOKEN_ENTRY).
    token: bool

    @classmethod
    def of(cls, profile: Profile, secrets: Sequence[SecretConfig]) -> HubAccess:
        internet = PROFILES[profile].internet
        return cls(internet, internet and any(s.name == HF_TOKEN_ENTRY for s in secrets))


def hf_token_applies(hub: HubAccess, model: ModelConfig) -> bool:
    """A Hub token only where weights are downloaded; never in an airgapped stack."""
    return hub.token and model.weights_source == "huggingface"


def environment(hub: HubAccess, model: ModelConfig, proxy: ProxyClient | None, region: str | None) -> list[Spec]:
    offline = not hub.internet or model.weights_source != "huggingface"
    env = [
        env_from_secret("VLLM_API_KEY", API_KEY_SECRET, API_KEY_KEY),
        env_value("HF_HOME", HF_HOME),
        env_value("HF_HUB_DISABLE_TELEMETRY", "1"),
        env_value("VLLM_NO_USAGE_STATS", "1"),
        env_value("DO_NOT_TRACK", "1"),
        # Read-only root filesystem: every cache goes to /tmp; USER because the image has no
        # passwd entry for our UID and torch looks the user name up for its cache path.
        env_value("HOME", "/tmp"),
        env_value("USER", "vllm"),
        env_value("XDG_CACHE_HOME", "/tmp/.cache"),
        env_value("VLLM_CACHE_ROOT", "/tmp/vllm"),
    ]
    if offline:
        env.append(env_value("HF_HUB_OFFLINE", "1"))
    if hf_token_applies(hub, model):
        # A file, not a value: the token never appears in the pod spec or `kubectl describe`.
        env.append(env_value("HF_TOKEN_PATH", f"{HF_TOKEN_DIR}/token"))
    if proxy is not None and model.weights_source == "huggingface":
        env += [env_value("HTTPS_PROXY", proxy_url(proxy.port)), env_value("NO_PROXY", ",".join(NO_PROXY))]
    if region and model.weights_source == "s3":
        env.append(env_value("AWS_REGION", region))
    return env


def volumes_and_mounts(hub: HubAccess, model: ModelConfig, cache: CacheVolume) -> tuple[list[Spec], list[Spec]]:
    volumes = [cache.volume, empty_dir("shm", f"{shm_gib(model)}Gi", memory=True), empty_dir("tmp", f"{TMP_GIB}Gi")]
    mounts = [mount("cache", MODEL_CACHE_MOUNT, read_only=cache.read_only), mount("shm", "/dev/shm"), mount("tmp", "/tmp")]
    if hf_token_applies(hub, model):
        # optional: the stack may leave the value to be filled out of band (docs/workloads.md).
        volumes.append({"name": "hf-token", "secret": {"secretName": HF_TOKEN_SECRET, "defaultMode": 0o440, "optional": True}})
        mounts.append(mount("hf-token", HF_TOKEN_DIR, read_only=True))
    return volumes, mounts
