/**
 * Kubernetes `Status` objects, the body of every error answer (and of watch ERROR events), in
 * the wording the real API server uses.
 *
 * @module
 */

export interface StatusObject {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  details?: { name?: string; kind?: string };
  code: number;
}

export function failure(
  code: number,
  reason: string,
  message: string,
  details?: { name?: string; kind?: string },
): StatusObject {
  const status: StatusObject = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  if (details) status.details = details;
  return status;
}

export const unauthorized = (): StatusObject => failure(401, "Unauthorized", "Unauthorized");

/**
 * RBAC's denial, e.g. `nodes "n1" is forbidden: User "u" cannot patch resource "nodes/status"…`;
 * for a namespaced resource (`namespace` given) the scope is `in the namespace "<ns>"`.
 */
export function forbidden(
  user: string,
  verb: string,
  resource: string,
  name?: string,
  namespace?: string,
): StatusObject {
  const [plural] = resource.split("/");
  const subject = name ? `${plural} "${name}"` : plural;
  const scope = namespace === undefined
    ? "at the cluster scope"
    : `in the namespace "${namespace}"`;
  return failure(
    403,
    "Forbidden",
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "" ${scope}`,
    name ? { name, kind: plural } : { kind: plural },
  );
}

/**
 * `nodes "<name>" not found` (or another `kind`, e.g. `pods`); without a name (yurthub's
 * uncached LIST) the details have none.
 */
export const notFound = (name: string, kind = "nodes"): StatusObject =>
  failure(
    404,
    "NotFound",
    `${kind} "${name}" not found`,
    name ? { name, kind } : {
      kind,
    },
  );

export const pathNotFound = (): StatusObject =>
  failure(404, "NotFound", "the server could not find the requested resource");

export const badRequest = (message: string): StatusObject => failure(400, "BadRequest", message);

export const methodNotAllowed = (method: string): StatusObject =>
  failure(
    405,
    "MethodNotAllowed",
    `the server does not allow this method on the requested resource (${method})`,
  );

export const conflict = (name: string): StatusObject =>
  failure(
    409,
    "Conflict",
    `Operation cannot be fulfilled on nodes "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, kind: "nodes" },
  );

export const expired = (message: string): StatusObject => failure(410, "Expired", message);

export const unsupportedMediaType = (contentType: string): StatusObject =>
  failure(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format (${contentType}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
  );

export const invalid = (name: string, message: string): StatusObject =>
  failure(422, "Invalid", `Node "${name}" is invalid: ${message}`, { name, kind: "Node" });
