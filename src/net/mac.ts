/**
 * Ethernet MAC addresses as lower-case, colon-separated text (`aa:bb:cc:dd:ee:ff`), the form
 * flannel writes into its `backend-data` annotation.
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
