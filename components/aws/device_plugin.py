"""The NVIDIA device plugin (advertises ``nvidia.com/gpu`` to the kubelet) and the
``nvidia`` RuntimeClass.

The device plugin is the one Airlock pod that is not fully locked down, because its job
is to register a gRPC socket with the kubelet: it mounts the host directory
``/var/lib/kubelet/device-plugins`` and runs as root, which owns that directory. Everything
else stays closed: no privilege escalation, no capabilities, read-only root filesystem,
RuntimeDefault seccomp, no service-account token, no host network/PID/IPC, resource limits,
and it runs only on GPU pool nodes. See docs/aws.md ("The NVIDIA device-plugin exception").

Only pools on the AL2023 NVIDIA AMIs get the DaemonSet: Bottlerocket's NVIDIA variants run
the device plugin as part of the OS, and a second copy would fight over the same socket.

The EKS GPU AMIs register the ``nvidia`` containerd runtime handler but create no
RuntimeClass object, so a pod asking for ``runtimeClassName: nvidia`` would be rejected.
We create it (tolerating the GPU taint), which makes that spelling work on EKS as it does
on clusters with the GPU Operator. The device plugin itself does not use it: on these AMIs
the NVIDIA runtime is containerd's default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.workloads.labels import labels, selector
from components.workloads.scheduling import GPU_TAINT_EFFECT, GPU_TAINT_KEY, POOL_LABEL

NAME = "nvidia-device-plugin"
NAMESPACE = "kube-system"
RUNTIME_CLASS = "nvidia"
DEVICE_PLUGIN_DIR = "/var/lib/kubelet/device-plugins"


@dataclass(frozen=True)
class NvidiaDevicePluginArgs:
    # Pinned image reference (components.config.images.resolve_image).
    image: pulumi.Input[str]
    # Pools (airlock.dev/gpu-pool values) whose nodes need the plugin.
    pools: Sequence[str]


class NvidiaDevicePlugin(pulumi.ComponentResource):
    daemon_set: k8s.apps.v1.DaemonSet

    def __init__(self, name: str, args: NvidiaDevicePluginArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("airlock:aws:NvidiaDevicePlugin", name, None, opts)
        if not args.pools:
            raise ValueError("the NVIDIA device plugin needs at least one GPU pool to run on")
        gpu_toleration = k8s.core.v1.TolerationArgs(key=GPU_TAINT_KEY, operator="Exists", effect=GPU_TAINT_EFFECT)
        self.daemon_set = k8s.apps.v1.DaemonSet(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=NAMESPACE, labels=labels("system", NAME)),
            spec=k8s.apps.v1.DaemonSetSpecArgs(
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector("system", NAME)),
                update_strategy=k8s.apps.v1.DaemonSetUpdateStrategyArgs(type="RollingUpdate"),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels("system", NAME)),
                    spec=k8s.core.v1.PodSpecArgs(
                        # Without it a node's GPUs are invisible to the scheduler: never evict it.
                        priority_class_name="system-node-critical",
                        automount_service_account_token=False,
                        enable_service_links=False,
                        tolerations=[gpu_toleration],
                        affinity=k8s.core.v1.AffinityArgs(
                            node_affinity=k8s.core.v1.NodeAffinityArgs(
                                required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                                    node_selector_terms=[
                                        k8s.core.v1.NodeSelectorTermArgs(
                                            match_expressions=[
                                                k8s.core.v1.NodeSelectorRequirementArgs(
                                                    key=POOL_LABEL, operator="In", values=sorted(args.pools)
                                                )
                                            ]
                                        )
                                    ]
                                )
                            )
                        ),
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")
                        ),
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name=NAME,
                                image=args.image,
                                security_context=k8s.core.v1.SecurityContextArgs(
                                    # Root only to write its socket into the kubelet's root-owned directory.
                                    run_as_user=0,
                                    run_as_non_root=False,
                                    privileged=False,
                                    allow_privilege_escalation=False,
                                    read_only_root_filesystem=True,
                                    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                                ),
                                resources=k8s.core.v1.ResourceRequirementsArgs(
                                    requests={"cpu": "50m", "memory": "64Mi", "ephemeral-storage": "16Mi"},
                                    limits={"cpu": "200m", "memory": "256Mi", "ephemeral-storage": "64Mi"},
                                ),
                                volume_mounts=[
                                    k8s.core.v1.VolumeMountArgs(name="device-plugins", mount_path=DEVICE_PLUGIN_DIR)
                                ],
                            )
                        ],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="device-plugins",
                                host_path=k8s.core.v1.HostPathVolumeSourceArgs(path=DEVICE_PLUGIN_DIR, type="Directory"),
                            )
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"daemonSet": NAME, "pools": sorted(args.pools)})


def nvidia_runtime_class(name: str, opts: pulumi.ResourceOptions) -> k8s.node.v1.RuntimeClass:
    return k8s.node.v1.RuntimeClass(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=RUNTIME_CLASS, labels=labels("system", RUNTIME_CLASS)),
        handler=RUNTIME_CLASS,
        scheduling=k8s.node.v1.SchedulingArgs(
            tolerations=[k8s.core.v1.TolerationArgs(key=GPU_TAINT_KEY, operator="Exists", effect=GPU_TAINT_EFFECT)]
        ),
        opts=opts,
    )
