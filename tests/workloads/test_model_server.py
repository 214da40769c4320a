"""vLLM model servers as synthesized: flags, probes, GPUs and pools, cache, keys, autoscaling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.workloads.scheduling import GPU_TAINT_EFFECT, GPU_TAINT_KEY
from support import shipped, stack_document
from workload_manifests import env_of, get, in_namespace, kinds, pod_spec, synth_variant

MODELS = "airlock-models"


def vllm_container(bundle, model: str) -> dict:
    (container,) = pod_spec(get(bundle, "Deployment", MODELS, model))["containers"]
    return container


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def test_flags_follow_the_model_config() -> None:
    config = stack_document("prod")["config"]["airlock:models"][0]  # llama-70b, Hugging Face weights
    args = vllm_container(shipped("prod"), "llama-70b")["args"]
    assert args[0] == config["huggingFaceId"]
    assert flag(args, "--served-model-name") == "llama-70b"
    assert flag(args, "--tensor-parallel-size") == str(config["tensorParallelSize"]) == "4"
    assert flag(args, "--max-model-len") == str(config["maxModelLen"])
    assert flag(args, "--max-num-seqs") == str(config["maxNumSeqs"])
    assert flag(args, "--gpu-memory-utilization") == "0.9"  # the schema default
    assert flag(args, "--revision") == config["revision"]
    assert flag(args, "--dtype") == "bfloat16"
    assert "--enable-prefix-caching" in args
    assert flag(args, "--port") == "8000"
    for absent in ("--quantization", "--kv-cache-dtype", "--load-format", "--api-key"):
        assert absent not in args  # unset options stay vLLM's defaults; the key is never a flag


def test_changing_a_model_field_changes_its_flags(tmp_path: Path) -> None:
    def edit(config: dict) -> None:
        model = config["airlock:models"][1]  # qwen3-8b
        model.update(
            maxModelLen=4096,
            maxNumSeqs=8,
            gpuMemoryUtilization=0.85,
            quantization="fp8",
            kvCacheDtype="fp8",
            dtype="float16",
            enablePrefixCaching=False,
        )

    args = vllm_container(synth_variant(tmp_path, "onprem", edit), "qwen3-8b")["args"]
    assert (flag(args, "--max-model-len"), flag(args, "--max-num-seqs")) == ("4096", "8")
    assert flag(args, "--gpu-memory-utilization") == "0.85"
    assert (flag(args, "--quantization"), flag(args, "--kv-cache-dtype"), flag(args, "--dtype")) == ("fp8", "fp8", "float16")
    assert "--no-enable-prefix-caching" in args and "--enable-prefix-caching" not in args
    shipped_args = vllm_container(shipped("onprem"), "qwen3-8b")["args"]
    assert flag(shipped_args, "--max-model-len") == "16384"


def test_s3_weights_are_streamed_from_the_mirror() -> None:
    config = stack_document("airgap")["config"]["airlock:models"][0]
    args = vllm_container(shipped("airgap"), "qwen3-32b")["args"]
    assert args[0] == config["weightsUri"]
    assert flag(args, "--load-format") == "runai_streamer"
    assert flag(args, "--quantization") == "fp8"


def test_pre_staged_weights_come_read_only_from_the_existing_claim() -> None:
    bundle = shipped("onprem")
    spec = pod_spec(get(bundle, "Deployment", MODELS, "llama-70b"))
    (container,) = spec["containers"]
    assert container["args"][0] == "/models/meta-llama/Llama-3.3-70B-Instruct"
    cache = next(v for v in spec["volumes"] if v["name"] == "cache")
    assert cache["persistentVolumeClaim"] == {"claimName": "model-weights", "readOnly": True}
    assert {"name": "cache", "mountPath": "/models", "readOnly": True} in container["volumeMounts"]
    assert in_namespace(bundle, MODELS, "PersistentVolumeClaim") == []  # the claim is the user's


def test_cache_volume_holds_hf_home_and_shm_is_memory() -> None:
    bundle = shipped("staging")
    spec = pod_spec(get(bundle, "Deployment", MODELS, "qwen3-8b"))
    (container,) = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert env_of(container)["HF_HOME"].startswith("/models/") and mounts["/models"] == "cache"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["shm"]["emptyDir"]["medium"] == "Memory" and mounts["/dev/shm"] == "shm"
    claim = get(bundle, "PersistentVolumeClaim", MODELS, "qwen3-8b-cache")
    assert volumes["cache"]["persistentVolumeClaim"]["claimName"] == "qwen3-8b-cache"
    # cache.sizeGiB defaults to twice the weights (at least 50): 8.19e9 x 2 bytes = 15.3 GiB -> 50 GiB.
    assert claim["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]  # one replica


def test_per_pod_cache_is_a_node_disk_sized_for_the_weights() -> None:
    bundle = shipped("prod")  # replicas re-fetch into their own cache: no shared ReadWriteOnce PVC
    spec = pod_spec(get(bundle, "Deployment", MODELS, "llama-70b"))
    volumes = {v["name"]: v for v in spec["volumes"]}
    # twice the weights: 70.6e9 x 2 bytes = 131.5 GiB -> 264 GiB, on the node's disk, not in memory.
    assert volumes["cache"]["emptyDir"] == {"sizeLimit": "264Gi"}
    assert not [c for c in kinds(bundle, "PersistentVolumeClaim") if c["metadata"]["name"] == "llama-70b-cache"]


def test_probes_follow_reference_and_grow_with_the_weights() -> None:
    bundle = shipped("prod")
    big, small = vllm_container(bundle, "llama-70b"), vllm_container(bundle, "llama-8b")
    for container in (big, small):
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["httpGet"]["path"] == "/health"
            assert container[probe]["httpGet"]["port"] == "http"
        assert container["startupProbe"]["periodSeconds"] == 10
        assert container["readinessProbe"]["periodSeconds"] == 5
        assert (container["livenessProbe"]["periodSeconds"], container["livenessProbe"]["failureThreshold"]) == (10, 3)
    # 300 s + 8 s per GiB downloaded, checked every 10 s: 70B bf16 (131.5 GiB, on the p5's
    # NVMe RAID0) -> 1352 s -> 136 checks; 8B (15.0 GiB) is written to a gp3 volume at
    # 125 MiB/s (8.2 s/GiB, slower than the download) -> 422 s -> 43 checks.
    assert big["startupProbe"]["failureThreshold"] == 136
    assert small["startupProbe"]["failureThreshold"] == 43
    assert small["startupProbe"]["failureThreshold"] < big["startupProbe"]["failureThreshold"]
    # Pulumi waits for the whole start-up budget before calling the rollout failed.
    deployment = get(bundle, "Deployment", MODELS, "llama-70b")
    assert int(deployment["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) > 136 * 10


@pytest.mark.parametrize("stack", ["prod", "airgap", "onprem"])
def test_gpus_and_scheduling_match_the_pool(stack: str) -> None:
    bundle = shipped(stack)
    config = stack_document(stack)["config"]
    pools = {p["name"]: p for p in config["airlock:gpuPools"]}
    for model in config["airlock:models"]:
        spec = pod_spec(get(bundle, "Deployment", MODELS, model["name"]))
        resources = spec["containers"][0]["resources"]
        tp = str(model.get("tensorParallelSize", 1))
        assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == tp
        pool = pools[model["pool"]]
        expected = pool.get("nodeSelector") or {"airlock.dev/gpu-pool": pool["name"]}
        assert spec["nodeSelector"] == expected
        # The pool's taint (nvidia.com/gpu ... NoSchedule) is tolerated, whatever its value.
        assert {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT} in spec["tolerations"]


def test_keda_scales_on_queue_depth_only_when_enabled() -> None:
    bundle = shipped("prod")
    config = stack_document("prod")["config"]["airlock:models"][1]  # llama-8b, autoscaling on
    (scaled,) = [s for s in kinds(bundle, "ScaledObject") if s["metadata"]["namespace"] == MODELS]
    assert scaled["metadata"]["name"] == "llama-8b" and scaled["metadata"]["namespace"] == MODELS
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "llama-8b"}
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (config["replicas"], config["autoscaling"]["maxReplicas"])
    assert (spec["pollingInterval"], spec["cooldownPeriod"]) == (15, 360)
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus"
    assert "vllm:num_requests_waiting" in trigger["metadata"]["query"] and 'model_name="llama-8b"' in trigger["metadata"]["query"]
    assert trigger["metadata"]["threshold"] == "5"
    # KEDA owns the replica count; the fixed-size model keeps its replicas.
    assert "replicas" not in get(bundle, "Deployment", MODELS, "llama-8b")["spec"]
    assert get(bundle, "Deployment", MODELS, "llama-70b")["spec"]["replicas"] == 2
    # Prometheus (monitoring namespace, from prometheusUrl) may scrape the model servers.
    ingress = next(p for p in in_namespace(bundle, MODELS, "NetworkPolicy") if p["metadata"]["name"] == "model-server-ingress")
    peers = [peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in ingress["spec"]["ingress"][0]["from"]]
    assert sorted(peers) == ["airlock-orchestrator", "monitoring"]
    assert [s for s in kinds(shipped("onprem"), "ScaledObject") if s["metadata"]["namespace"] == MODELS] == []


@pytest.mark.parametrize("stack", ["airgap", "onprem"])
def test_airgapped_model_servers_are_offline_without_token(stack: str) -> None:
    bundle = shipped(stack)
    for model in stack_document(stack)["config"]["airlock:models"]:
        container = vllm_container(bundle, model["name"])
        env = env_of(container)
        assert env["HF_HUB_OFFLINE"] == "1"
        assert not {"HF_TOKEN", "HF_TOKEN_PATH", "HUGGING_FACE_HUB_TOKEN", "HTTPS_PROXY"} & set(env)
        assert not any(m["name"] == "hf-token" for m in container["volumeMounts"])
    assert not [s for s in in_namespace(bundle, MODELS, "Secret") if s["metadata"]["name"] == "hf-token"]


def test_downloading_model_servers_use_a_token_file_and_the_proxy() -> None:
    container = vllm_container(shipped("prod"), "llama-70b")
    env = env_of(container)
    assert "HF_HUB_OFFLINE" not in env
    assert env["HF_TOKEN_PATH"] == "/var/run/secrets/airlock/hf-token/token" and "HF_TOKEN" not in env
    assert env["HTTPS_PROXY"] == "http://egress-proxy.airlock-egress.svc.cluster.local:3129"


def test_api_key_is_generated_and_only_referenced() -> None:
    bundle = shipped("prod")
    env = env_of(vllm_container(bundle, "llama-70b"))
    assert env["VLLM_API_KEY"] == {"secretKeyRef": {"name": "vllm-api-key", "key": "api-key", "optional": False}}
    models_secret = get(bundle, "Secret", MODELS, "vllm-api-key")
    runtime_secret = get(bundle, "Secret", "airlock-orchestrator", "model-api-key")
    assert models_secret["stringData"] == runtime_secret["stringData"] == {"api-key": "[secret]"}
    (password,) = bundle.of_type("random:index/randomPassword:RandomPassword")
    assert password["inputs"]["length"] >= 32
    # The generated value (a deterministic fake offline) appears nowhere in the bundle.
    from airlock.synth.fakes import fake_resource

    _, state = fake_resource(password["type"], password["name"], password["inputs"], "us-east-1")
    text = (bundle.directory / "resources.json").read_text() + "".join(
        p.read_text() for p in (bundle.directory / "manifests").rglob("*.yaml")
    )
    assert state["result"] not in text


def test_service_and_disruption_budget() -> None:
    bundle = shipped("prod")
    for model in ("llama-70b", "llama-8b"):
        service = get(bundle, "Service", MODELS, model)
        assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
        pods = get(bundle, "Deployment", MODELS, model)["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pods.items()
        budget = get(bundle, "PodDisruptionBudget", MODELS, model)
        assert budget["spec"]["maxUnavailable"] == 1 and budget["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    urls = json.loads(next(e["value"] for e in pod_spec(get(bundle, "Deployment", "airlock-orchestrator", "orchestrator"))["containers"][0]["env"] if e["name"] == "AIRLOCK_MODEL_ROUTES"))
    assert urls["llama-70b"]["baseUrl"] == "http://llama-70b.airlock-models.svc.cluster.local:8000/v1"
    assert bundle.outputs["modelServiceUrls"]["llama-8b"] == urls["llama-8b"]["baseUrl"]


def test_gpu_rollouts_never_surge() -> None:
    strategy = get(shipped("prod"), "Deployment", MODELS, "llama-70b")["spec"]["strategy"]
    assert strategy["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
