/**
 * Kubernetes access for keepnet-vtepd: flannel's annotation codec, the peer rules, a narrow
 * Node API over `@kubernetes/client-node`, a list+watch informer and the own-node publisher.
 *
 * @module
 */
export * from "./annotations.ts";
export * from "./api.ts";
export * from "./backoff.ts";
export * from "./client.ts";
export * from "./config.ts";
export * from "./node.ts";
export * from "./node_informer.ts";
export * from "./peer.ts";
export * from "./pod_node_name.ts";
export * from "./publisher.ts";
export * from "./result.ts";
export * from "./transport.ts";
