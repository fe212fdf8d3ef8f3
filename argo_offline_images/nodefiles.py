"""The kind node image's own files and texts (pure): the Dockerfile of kind's base image, the CNI daemonset that stands in
for kindnetd, the cgroup v1 preparation, the registry's config, and the package lists."""

from __future__ import annotations

import re
from pathlib import Path

from argo_offline_images.gomod import RecipeError
from argo_offline_images.recipes import (
    NodeRecipe,
)

CNI_SOURCE = Path(__file__).parent / "cni"


GITSERVER_PACKAGES = ("nginx", "fcgiwrap", "git", "ca-certificates")


# The local registry's configuration (ours; the official image's config serves the same: filesystem storage
# under /var/lib/registry, :5000).
REGISTRY_CONFIG = """version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
"""


CNI_IMAGE = "localhost/argo-suite-cni"


# What kind's base image gets from its base (ubuntu:22.04 / debian:bookworm-slim) and a minbase debootstrap
# lacks: pkill (kind's image importer stops containerd with it).
NODE_BASE_PACKAGES = ("procps",)


IPTABLES_PACKAGES = ("iptables", "iproute2", "conntrack", "ipset", "ca-certificates")


def clean_install_packages(dockerfile: str) -> list[str]:
    """The Debian packages kind's base Dockerfile installs with ``clean-install`` (its RUN line, continuations
    joined)."""
    joined = re.sub(r"\\\s*\n", " ", dockerfile)
    m = re.search(r"clean-install\s+(.*?)(?:&&|$)", joined, re.M)
    if not m:
        raise RecipeError("no clean-install line in kind's base Dockerfile")
    return [p for p in m.group(1).split() if re.fullmatch(r"[a-z0-9][a-z0-9+.-]*", p)]


def cni_manifest(image: str) -> str:
    """Our default CNI manifest, a template kind fills in (``would you kindly template this file``:
    ``.PodSubnet``) and patches with ``CONTROL_PLANE_ENDPOINT`` (``would you kindly patch this file``), as it
    does kindnetd's (kind ``pkg/cluster/internal/create/actions/installcni``)."""
    return f"""# would you kindly template this file
# would you kindly patch this file
# argo-suite-cni: the suite's stand-in for kindnetd (not a published Go module); see the image manifest
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: kindnet
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kindnet
rules:
  - apiGroups: [""]
    resources: ["nodes"]
    verbs: ["list", "watch", "get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kindnet
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kindnet
subjects:
  - kind: ServiceAccount
    name: kindnet
    namespace: kube-system
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kindnet
  namespace: kube-system
  labels: {{app: kindnet, k8s-app: kindnet, tier: node}}
spec:
  selector:
    matchLabels: {{app: kindnet}}
  template:
    metadata:
      labels: {{app: kindnet, k8s-app: kindnet, tier: node}}
    spec:
      hostNetwork: true
      tolerations: [{{operator: Exists}}]
      serviceAccountName: kindnet
      containers:
        - name: kindnet-cni
          image: {image}
          imagePullPolicy: IfNotPresent
          env:
            - name: NODE_NAME
              valueFrom: {{fieldRef: {{fieldPath: spec.nodeName}}}}
            - name: POD_SUBNET
              value: {{{{ .PodSubnet }}}}
          volumeMounts:
            - {{name: cni-cfg, mountPath: /etc/cni/net.d}}
          securityContext:
            privileged: true
          resources:
            requests: {{cpu: 100m, memory: 50Mi}}
            limits: {{cpu: 100m, memory: 50Mi}}
      volumes:
        - name: cni-cfg
          hostPath: {{path: /etc/cni/net.d, type: DirectoryOrCreate}}
"""


# A kubelet drop-in of ours: on a cgroup v1 host whose kernel has controllers the host does not mount (our VMs:
# hugetlb, net_cls/net_prio, perf_event), systemd in the node mounts them after kind's entrypoint prepared
# /kubelet and /kubelet.slice in the others, and the kubelet then refuses to start ("cgroup [kubelet] has some
# missing paths: /sys/fs/cgroup/hugetlb/kubelet.slice"). Creating them in every mounted hierarchy before the
# kubelet starts is what kind's ``fix_cgroup`` does for the hierarchies it saw.
# Those extra hierarchies are the host's whole hierarchy, not the node's own (Docker placed the node in no cgroup
# of a controller the host does not mount): every node of every cluster shares them, and one node's kubelet removes
# the pod cgroups another node just made there ("Failed to delete cgroup paths" for pods it does not run, then
# runc's "unable to apply cgroup configuration: ... /sys/fs/cgroup/perf_event/kubelet.slice/...: no such file or
# directory" for a pod of another node, seen on kind here). The kubelet needs none of them: they are unmounted
# in the node before it starts, recorded in the node image manifest.
SHARED_CONTROLLERS = ("perf_event", "net_cls,net_prio", "net_cls", "net_prio", "hugetlb", "rdma", "misc")


CGROUP_V1_SCRIPT = (
    """#!/bin/sh
# argo-suite: leave out the cgroup v1 hierarchies the node would share with every other node, then create the
# kubelet's cgroup roots in every one left (see the node image manifest)
set -eu
[ -f /sys/fs/cgroup/cgroup.controllers ] && exit 0
"""
    + "".join(f"mountpoint -q /sys/fs/cgroup/{c} && umount /sys/fs/cgroup/{c} || true\n" for c in SHARED_CONTROLLERS)
    + """for d in /sys/fs/cgroup/*/; do
  if [ -f "${d}cgroup.procs" ]; then mkdir -p "${d}kubelet" "${d}kubelet.slice"; fi
done
"""
)


CGROUP_V1_DROPIN = """[Service]
ExecStartPre=/usr/local/bin/argo-suite-cgroup-v1
"""


def base_dockerfile(rootfs_ref: str, kind_files: Path, has_undo_mount_hacks: bool, product_files_hook: str) -> str:
    """Our Dockerfile for kind's base image: kind's steps (``images/base/Dockerfile``) on a local root
    filesystem, with the binaries built here copied in."""
    wants = " \\\n && ".join(
        [
            'find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete',
            "rm -f /lib/systemd/system/multi-user.target.wants/*",
            "rm -f /etc/systemd/system/*.wants/*",
            "rm -f /lib/systemd/system/local-fs.target.wants/*",
            "rm -f /lib/systemd/system/sockets.target.wants/*udev*",
            "rm -f /lib/systemd/system/sockets.target.wants/*initctl*",
            "rm -f /lib/systemd/system/basic.target.wants/*",
            'echo "ReadKMsg=no" >> /etc/systemd/journald.conf',
            'ln -sf "$(which systemd)" /sbin/init',
        ]
    )
    enable = "systemctl enable kubelet.service && systemctl enable containerd.service"
    if has_undo_mount_hacks:
        enable += " && systemctl enable undo-mount-hacks.service && systemctl mask systemd-binfmt.service"
    del kind_files
    return f"""FROM {rootfs_ref}
COPY files/ /
COPY argo-suite-cgroup-v1 /usr/local/bin/argo-suite-cgroup-v1
COPY 12-argo-suite-cgroup-v1.conf /etc/systemd/system/kubelet.service.d/12-argo-suite-cgroup-v1.conf
RUN chmod 0755 /usr/local/bin/* && if [ -d /kind/bin ]; then chmod 0755 /kind/bin /kind/bin/*; fi
RUN {wants}
RUN {enable}
COPY bin/containerd bin/ctr bin/containerd-shim-runc-v2 bin/crictl /usr/local/bin/
COPY bin/runc /usr/local/sbin/runc
COPY cni/ /opt/cni/bin/
RUN ctr oci spec \\
    | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {{"path": "{product_files_hook}"}}' \\
    | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
 && containerd --version && runc --version
RUN mkdir -p /etc/kubernetes/manifests \\
 && if [ -f /usr/lib/systemd/system/systemd-tmpfiles-clean.timer ]; then \\
      sed -i /usr/lib/systemd/system/systemd-tmpfiles-clean.timer -e 's#OnBootSec=.*#OnBootSec=1min#'; fi
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]
"""


def recipe_cni_manifest(recipe: NodeRecipe) -> str:
    return cni_manifest(recipe.cni_local)


def recipe_required(recipe: NodeRecipe) -> list[str]:
    return [*recipe.kubeadm_images, recipe.sandbox, recipe.cni_local]


# -- the whole node build -------------------------------------------------------------------------------------------
def go_directive(gomod: str) -> str:
    """The ``toolchain goX.Y.Z`` line of a go.mod, else its ``go X.Y[.Z]`` line."""
    m = re.search(r"^toolchain go(\d+\.\d+(?:\.\d+)?)\s*$", gomod, re.M) or re.search(
        r"^go (\d+\.\d+(?:\.\d+)?)\s*$", gomod, re.M
    )
    if not m:
        raise RecipeError("go.mod has no go directive")
    return m.group(1)
