/**
 * A Node object of the size and shape a real cluster serves (kubelet's status with conditions,
 * addresses, node info and an image list; managedFields; flannel's annotations), so memory
 * figures reflect what a LIST of a real cluster costs to read.
 *
 * @module
 */
import type { NodeObject } from "../apiserver.ts";
import { flannelNode } from "../fixtures.ts";

const TIME = "2026-01-01T00:00:00Z";

function hex(seed: number, length: number): string {
  let text = "";
  let value = seed * 2654435761 >>> 0;
  while (text.length < length) {
    value = (value * 1103515245 + 12345) >>> 0;
    text += value.toString(16).padStart(8, "0");
  }
  return text.slice(0, length);
}

function condition(type: string, status: string, reason: string, message: string) {
  return {
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: TIME,
    lastTransitionTime: TIME,
  };
}

export function realisticNode(name: string, index: number): NodeObject {
  const node = flannelNode(name, index, {
    conditions: [
      condition("NetworkUnavailable", "False", "FlannelIsUp", "Flannel is running on this node"),
      condition(
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
      ),
      condition(
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
      ),
      condition(
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
      ),
      condition(
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status. AppArmor enabled",
      ),
    ],
  });
  Object.assign(node.metadata.labels, {
    "beta.kubernetes.io/arch": "arm64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "arm64",
    "kubernetes.io/os": "linux",
    "openyurt.io/is-edge-worker": "true",
    "apps.openyurt.io/nodepool": `pool-${index % 20}`,
    "topology.kubernetes.io/zone": `zone-${index % 4}`,
  });
  Object.assign(node.metadata.annotations, {
    "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
    "node.alpha.kubernetes.io/ttl": "0",
    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
    "node.beta.openyurt.io/autonomy": "true",
  });
  node.metadata.managedFields = ["kubeadm", "kubelet", "flanneld", "kube-controller-manager"].map((
    manager,
  ) => ({
    manager,
    operation: "Update",
    apiVersion: "v1",
    time: TIME,
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:metadata": {
        "f:annotations": { ".": {}, [`f:${manager}.example/annotation-${hex(index, 6)}`]: {} },
        "f:labels": { ".": {}, "f:kubernetes.io/arch": {}, "f:kubernetes.io/os": {} },
      },
      "f:status": {
        "f:conditions": Object.fromEntries(
          ["DiskPressure", "MemoryPressure", "PIDPressure", "Ready"].map((type) => [
            `k:{"type":"${type}"}`,
            { "f:lastHeartbeatTime": {}, "f:message": {}, "f:reason": {}, "f:status": {} },
          ]),
        ),
      },
    },
  }));
  node.spec.providerID = `edge://${name}`;
  Object.assign(node.status, {
    addresses: [{ type: "InternalIP", address: `192.168.${index >> 8}.${index & 255}` }, {
      type: "Hostname",
      address: name,
    }],
    capacity: { cpu: "4", "ephemeral-storage": "61255492Ki", memory: "8024532Ki", pods: "110" },
    allocatable: { cpu: "4", "ephemeral-storage": "56453061376", memory: "7922132Ki", pods: "110" },
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: hex(index, 32),
      systemUUID: hex(index + 1, 32),
      bootID: hex(index + 2, 32),
      kernelVersion: "6.1.0-18-arm64",
      osImage: "Debian GNU/Linux 12 (bookworm)",
      containerRuntimeVersion: "containerd://1.7.13",
      kubeletVersion: "v1.30.2",
      kubeProxyVersion: "v1.30.2",
      operatingSystem: "linux",
      architecture: "arm64",
    },
    images: Array.from({ length: 15 }, (_, image) => ({
      names: [
        `registry.example.com/edge/app-${image}@sha256:${hex(index * 31 + image, 64)}`,
        `registry.example.com/edge/app-${image}:v1.${image}.0`,
      ],
      sizeBytes: 10_000_000 + image * 1_234_567,
    })),
  });
  return node;
}
