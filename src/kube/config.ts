/**
 * Where the API server is and how to authenticate to it, the way flanneld's
 * `clientcmd.BuildConfigFromFlags(--kube-api-url, --kubeconfig-file)` decides: a kubeconfig file
 * (its current context), with the server replaced by `--kube-api-url` when both are given; a
 * bare URL without credentials (e.g. a local yurthub at `http://127.0.0.1:10261`); or, with
 * neither, the in-cluster service account.
 *
 * A bare URL needs nothing of `@kubernetes/client-node`, so it is only loaded (kubeconfig.ts)
 * when a kubeconfig or the service account must be read: evaluating the package costs the
 * daemon about 30 MiB of resident memory for as long as it runs (scripts/bench_vtepd.ts).
 *
 * @module
 */
import { type ApiEndpoint, bareUrlEndpoint, checkedApiUrl } from "./endpoint.ts";
import type { TransportChoice } from "./transport.ts";

export { type ApiEndpoint, KubeConfigError } from "./endpoint.ts";

export interface KubeConfigSource {
  kubeconfigFile?: string;
  apiUrl?: string;
}

/**
 * The API endpoint `source` describes; rejects with KubeConfigError when it cannot work.
 * `transport` applies to kubeconfig and in-cluster configurations (see transport.ts).
 */
export async function loadApiEndpoint(
  source: KubeConfigSource,
  transport: TransportChoice = "auto",
): Promise<ApiEndpoint> {
  if (source.kubeconfigFile === undefined && source.apiUrl !== undefined) {
    return bareUrlEndpoint(source.apiUrl);
  }
  const apiUrl = source.apiUrl === undefined ? undefined : checkedApiUrl(source.apiUrl);
  const { kubeConfigEndpoint, loadKubeConfig } = await import("./kubeconfig.ts");
  return kubeConfigEndpoint(
    loadKubeConfig({ kubeconfigFile: source.kubeconfigFile, apiUrl }),
    transport,
  );
}
