/**
 * Ethernet MAC addresses as lower-case, colon-separated text (`aa:bb:cc:dd:ee:ff`), the form
 * flannel writes into its `backend-data` annotation, and as the six bytes netlink carries.
 *
 * @module
 */

const MAC_TEXT = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** Normalises a 48-bit MAC written with `:` or `-` separators; undefined when it is not one. */
export function parseMAC(text: string): string | undefined {
  const normalised = text.trim().toLowerCase().replaceAll("-", ":");
  return MAC_TEXT.test(normalised) ? normalised : undefined;
}

/** True for a unicast address that is not all zeros (usable as a VTEP MAC). */
export function isUsableUnicastMAC(mac: string): boolean {
  const firstOctet = parseInt(mac.slice(0, 2), 16);
  return (firstOctet & 1) === 0 && mac !== "00:00:00:00:00:00";
}

/**
 * A new random, locally administered unicast MAC, as flannel makes them:
 * six random bytes with the multicast bit cleared and the local bit set.
 */
export function randomLocalMAC(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join(":");
}

const MAC_TEXT_LENGTH = 17;

/** The value of one hex digit, or -1. */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  const lower = code | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1; // a-f, A-F
}

/**
 * The six octets of `text`, or undefined unless it is six colon-separated two-digit hex octets.
 * Character by character: it runs for every peer's neighbour and FDB entry.
 */
export function macToBytes(text: string): Uint8Array | undefined {
  if (text.length !== MAC_TEXT_LENGTH) return undefined;
  const octets = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const at = i * 3;
    const high = hexDigit(text.charCodeAt(at));
    const low = hexDigit(text.charCodeAt(at + 1));
    if (high < 0 || low < 0 || (i < 5 && text.charCodeAt(at + 2) !== 58 /* : */)) return undefined;
    octets[i] = high * 16 + low;
  }
  return octets;
}

/** Lower-case, colon-separated hex octets. */
export function macFromBytes(octets: Uint8Array): string {
  let text = "";
  for (const octet of octets) {
    text += (text ? ":" : "") + (octet < 16 ? "0" : "") + octet.toString(16);
  }
  return text;
}
