/** keepnet's release version, reported by both programs. */
export const VERSION = "0.1.0";
