/**
 * Node objects for tests, in the API's wire format: a flannel VXLAN node as flanneld annotates
 * it, or a bare node as kubelet registers it.
 *
 * @module
 */
import type { Json } from "./apiserver/patch.ts";
import type { NodeObject } from "./apiserver.ts";

export const PREFIX = "flannel.alpha.coreos.com/";

export interface FlannelNodeOptions {
  /** One CIDR, or the `spec.podCIDRs` list. */
  podCIDR?: string | string[];
  publicIP?: string;
  mac?: string;
  vni?: number;
  /** Replaces or (with `undefined` values) removes the default annotations. */
  annotations?: Record<string, string | undefined>;
  conditions?: Json[];
}

/** The kubelet-registered part of a node: name, pod CIDR, a Ready condition. */
export function bareNode(name: string, podCIDR?: string | string[]): NodeObject {
  const spec: Record<string, Json> = {};
  if (typeof podCIDR === "string") spec.podCIDR = podCIDR;
  if (Array.isArray(podCIDR)) {
    spec.podCIDR = podCIDR[0] ?? "";
    spec.podCIDRs = podCIDR;
  }
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    spec,
    status: {
      conditions: [{
        type: "Ready",
        status: "True",
        reason: "KubeletReady",
        message: "kubelet is posting ready status",
        lastHeartbeatTime: "2026-01-01T00:00:00Z",
        lastTransitionTime: "2026-01-01T00:00:00Z",
      }],
    },
  };
}

/** A node running flannel's VXLAN backend, annotated as flanneld does. */
export function flannelNode(
  name: string,
  index: number,
  options: FlannelNodeOptions = {},
): NodeObject {
  const node = bareNode(name, options.podCIDR ?? `10.${244 + (index >> 8)}.${index & 255}.0/24`);
  const mac = options.mac ??
    `0a:00:00:00:${(index >> 8).toString(16).padStart(2, "0")}:${
      (index & 255).toString(16).padStart(2, "0")
    }`;
  const annotations: Record<string, string> = {
    [`${PREFIX}kube-subnet-manager`]: "true",
    [`${PREFIX}backend-type`]: "vxlan",
    [`${PREFIX}backend-data`]: `{"VNI":${options.vni ?? 1},"VtepMAC":"${mac}"}`,
    [`${PREFIX}public-ip`]: options.publicIP ?? `192.168.${index >> 8}.${index & 255}`,
  };
  for (const [key, value] of Object.entries(options.annotations ?? {})) {
    if (value === undefined) delete annotations[key];
    else annotations[key] = value;
  }
  (node.metadata as Record<string, Json>).annotations = annotations;
  if (options.conditions) (node.status as Record<string, Json>).conditions = options.conditions;
  return node;
}
