/**
 * Reading already-parsed JSON the way Go's `encoding/json` fills a struct, so configs behave
 * (and fail) exactly as they do for the Go plugins:
 *
 * - object keys match field names case-insensitively (with Unicode simple folding, so `ſubnet`
 *   is `subnet`); every matching key is decoded in document order, the last one wins;
 * - `null` leaves a field as it is;
 * - a value of the wrong JSON type is remembered and decoding goes on; the first such error is
 *   thrown at the end (`json: cannot unmarshal number into Go struct field X.a.b of type T`);
 * - errors of custom unmarshalers (e.g. `invalid CIDR address: x`) stop decoding at once.
 *
 * JSON.parse keeps only the last of two *identical* keys, at the position of the first; Go
 * decodes both. The difference shows only for an identical key appearing before a case variant
 * of it (`{"subnet":a,"SUBNET":b,"subnet":c}`: Go uses c, we use b), which no real config has.
 *
 * @module
 */

export type JsonKind = "string" | "number" | "bool" | "array" | "object" | "null";

/** The JSON type of a parsed value, in the words Go's messages use. */
export function jsonKind(value: unknown): JsonKind {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  switch (typeof value) {
    case "string":
      return "string";
    case "number":
      return "number";
    case "boolean":
      return "bool";
    default:
      return "object";
  }
}

/** Go's `json.UnmarshalTypeError`. */
export class GoTypeError extends Error {
  constructor(
    readonly value: string,
    readonly goType: string,
    readonly struct: string | undefined,
    readonly field: string,
  ) {
    super(
      struct === undefined && field === ""
        ? `json: cannot unmarshal ${value} into Go value of type ${goType}`
        : `json: cannot unmarshal ${value} into Go struct field ${
          struct ?? ""
        }.${field} of type ${goType}`,
    );
    this.name = "GoTypeError";
  }

  /** The same error reported for another field (Go's `addErrorContext`). */
  at(struct: string | undefined, field: string): GoTypeError {
    return new GoTypeError(this.value, this.goType, struct, field);
  }
}

function fold(key: string): string {
  return key.toUpperCase().toLowerCase();
}

/** Field decoders of one struct, by Go JSON name. */
export type StructFields = Readonly<Record<string, (value: unknown) => void>>;

/** One `json.Unmarshal` call: tracks the error context and the first type error. */
export class GoDecoder {
  #struct: string | undefined = undefined;
  #path: string[] = [];
  #saved: Error | undefined;

  /** Records a wrong-type value for the field being decoded; decoding continues. */
  typeError(value: unknown, goType: string): void {
    this.#saved ??= this.#error(value, goType);
  }

  /** A wrong-type error that stops decoding (returned by a custom unmarshaler). */
  fatalTypeError(value: unknown, goType: string): GoTypeError {
    return this.#error(value, goType);
  }

  #error(value: unknown, goType: string): GoTypeError {
    return new GoTypeError(jsonKind(value), goType, this.#struct, this.#path.join("."));
  }

  /** Throws the first recorded type error, if any. Call once decoding is complete. */
  finish(): void {
    if (this.#saved) throw this.#saved;
  }

  /**
   * Decodes `value` into a struct named `structName` (`""` for an anonymous struct). Returns
   * false for null (nothing set) and for a non-object (a type error of `goType`).
   */
  struct(value: unknown, structName: string, goType: string, fields: StructFields): boolean {
    if (value === null || value === undefined) return false;
    if (jsonKind(value) !== "object") {
      this.typeError(value, goType);
      return false;
    }
    const byFold = new Map<string, [string, (value: unknown) => void]>();
    for (const [name, decode] of Object.entries(fields)) byFold.set(fold(name), [name, decode]);
    const outer = this.#struct;
    this.#struct = structName;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const field = byFold.get(fold(key));
      if (!field) continue;
      this.#path.push(field[0]);
      field[1](item);
      this.#path.pop();
    }
    this.#struct = outer;
    return true;
  }

  /** A slice: null gives null, a non-array a type error of `goType` (and undefined). */
  array<T>(value: unknown, goType: string, element: (item: unknown) => T): T[] | null | undefined {
    if (value === null) return null;
    if (!Array.isArray(value)) {
      this.typeError(value, goType);
      return undefined;
    }
    return value.map(element);
  }

  string(value: unknown, goType = "string"): string | undefined {
    if (value === null) return undefined;
    if (typeof value === "string") return value;
    this.typeError(value, goType);
    return undefined;
  }

  bool(value: unknown): boolean | undefined {
    if (value === null) return undefined;
    if (typeof value === "boolean") return value;
    this.typeError(value, "bool");
    return undefined;
  }

  int(value: unknown): number | undefined {
    if (value === null) return undefined;
    if (typeof value === "number" && Number.isSafeInteger(value)) return value;
    if (typeof value === "number") {
      this.#saved ??= new GoTypeError(
        `number ${value}`,
        "int",
        this.#struct,
        this.#path.join("."),
      );
    } else this.typeError(value, "int");
    return undefined;
  }

  /**
   * Runs a custom unmarshaler that decodes with a fresh `json.Unmarshal` (as `types.Route`
   * does): its first error stops decoding, a type error then naming the outer field.
   */
  nested<T>(decode: (inner: GoDecoder) => T): T {
    const inner = new GoDecoder();
    try {
      const value = decode(inner);
      inner.finish();
      return value;
    } catch (error) {
      if (error instanceof GoTypeError) throw error.at(this.#struct, this.#path.join("."));
      throw error;
    }
  }
}
