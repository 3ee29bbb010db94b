/**
 * Which pod a call is for: `K8S_POD_NAMESPACE`, `K8S_POD_NAME` and `K8S_POD_UID` from CNI_ARGS,
 * as CRI runtimes send them. The values end up in file names, so they are checked against the
 * Kubernetes name rules before anything else happens; no other value can reach the disk.
 *
 * @module
 */
import { argValue, splitArgs } from "../cni/args.ts";
import { goQuote } from "../cni/json.ts";

export interface PodIdentity {
  namespace: string;
  name: string;
  /** K8S_POD_UID when given, else undefined. */
  uid?: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const UID = /^[0-9a-fA-F-]{1,64}$/;

export function isValidNamespace(namespace: string): boolean {
  return namespace.length <= 63 && DNS1123_LABEL.test(namespace);
}

export function isValidPodName(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}

/**
 * The pod identity in CNI_ARGS, or undefined unless both namespace and name are non-empty.
 * Throws a clear error naming the key when a value is not a valid Kubernetes name.
 */
export function podIdentityFromArgs(args: string): PodIdentity | undefined {
  const pairs = splitArgs(args);
  const namespace = argValue(pairs, "K8S_POD_NAMESPACE");
  const name = argValue(pairs, "K8S_POD_NAME");
  const uid = argValue(pairs, "K8S_POD_UID");
  if (namespace === "" || name === "") return undefined;
  if (!isValidNamespace(namespace)) {
    throw new Error(
      `invalid K8S_POD_NAMESPACE ${
        goQuote(namespace)
      }: a namespace is a DNS-1123 label (at most 63 characters: a-z, 0-9 and '-', starting and ending with a letter or digit)`,
    );
  }
  if (!isValidPodName(name)) {
    throw new Error(
      `invalid K8S_POD_NAME ${
        goQuote(name)
      }: a pod name is a DNS-1123 subdomain (at most 253 characters: a-z, 0-9, '-' and '.', each dot-separated part starting and ending with a letter or digit)`,
    );
  }
  if (uid !== "" && !UID.test(uid)) {
    throw new Error(
      `invalid K8S_POD_UID ${goQuote(uid)}: a pod UID has only hexadecimal digits and '-'`,
    );
  }
  return uid === "" ? { namespace, name } : { namespace, name, uid };
}
