"""The cluster's default StorageClass: encrypted gp3 volumes from the EBS CSI driver.

Model caches are PersistentVolumeClaims by default (models[].cache.type 'pvc'). EKS no
longer marks a default StorageClass and its legacy gp2 class needs the in-tree provider,
so without this class such claims would stay Pending. Volumes bind where the pod lands
(WaitForFirstConsumer): EBS volumes live in one zone, GPU nodes may be in any.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.workloads.labels import labels

STORAGE_CLASS = "gp3-encrypted"
EBS_CSI_PROVISIONER = "ebs.csi.aws.com"


def default_storage_class(name: str, opts: pulumi.ResourceOptions) -> k8s.storage.v1.StorageClass:
    return k8s.storage.v1.StorageClass(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=STORAGE_CLASS,
            labels=labels("system", STORAGE_CLASS),
            annotations={"storageclass.kubernetes.io/is-default-class": "true"},
        ),
        provisioner=EBS_CSI_PROVISIONER,
        parameters={"type": "gp3", "encrypted": "true"},
        volume_binding_mode="WaitForFirstConsumer",
        allow_volume_expansion=True,
        # Deleting a claim deletes its volume: caches are re-creatable, and orphaned
        # multi-hundred-GiB volumes are a silent cost.
        reclaim_policy="Delete",
        opts=opts,
    )
