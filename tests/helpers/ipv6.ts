/**
 * Loads IPv6 support (`src/net/ip.ts` loads `ip-address` on demand) for tests that handle IPv6
 * text in-process. Import it for its effect: `import "../helpers/ipv6.ts";`.
 *
 * @module
 */
import { loadIPv6 } from "../../src/net/ip.ts";

await loadIPv6();
