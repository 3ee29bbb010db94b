/**
 * Kubernetes access for keepnet-vtepd: flannel's annotation codec, the peer rules, a narrow
 * Node API (credentials from `@kubernetes/client-node` when a kubeconfig is used), a list+watch
 * informer and the own-node publisher.
 *
 * @module
 */
export * from "./annotations.ts";
export * from "./api.ts";
export * from "./backoff.ts";
export * from "./client.ts";
export * from "./config.ts";
export { bareUrlEndpoint, checkedApiUrl } from "./endpoint.ts";
export * from "./node.ts";
export * from "./node_informer.ts";
export * from "./peer.ts";
export * from "./pod_node_name.ts";
export * from "./publisher.ts";
export * from "./result.ts";
export * from "./transport.ts";
