/**
 * The syntax error Go's `encoding/json` reports for a text that is not valid JSON, so a broken
 * network config gets host-local's exact message (`unexpected end of JSON input`, `invalid
 * character 'x' after object key:value pair`, ...).
 *
 * Go checks the whole text byte by byte before decoding anything, with a state machine that
 * names the first byte that cannot continue the text and what it was looking for; at the end it
 * feeds one space, so a literal cut short reads `invalid character ' ' in literal true`. Go also
 * refuses nesting deeper than 10000 arrays and objects, which JSON.parse accepts. This module is
 * used only when JSON.parse failed or the text is long enough to be that deep, so a well-formed
 * config costs nothing. The machine is iterative: hostile nesting cannot overflow the stack.
 *
 * @module
 */
import { goQuote } from "./json.ts";

/** Go's limit on nested arrays and objects. */
export const MAX_NESTING_DEPTH = 10000;

/** The shortest text that can nest deeper than Go allows: 10001 openers and their closers. */
export const SHORTEST_TOO_DEEP = 2 * (MAX_NESTING_DEPTH + 1);

/** Go's `quoteChar`: a byte as a Go rune literal ('x', '\n', '\'', 'ÿ' for 0xff). */
function quoteByte(byte: number): string {
  if (byte === 0x27) return "'\\''";
  if (byte === 0x22) return "'\"'";
  return `'${goQuote(String.fromCharCode(byte)).slice(1, -1)}'`;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

enum State {
  BeginValue,
  BeginValueOrEmpty,
  BeginKeyOrEmpty,
  BeginKey,
  EndValue,
  EndTop,
  InString,
  InStringEscape,
  InUnicodeEscape,
  Negative,
  Integer,
  Zero,
  Dot,
  Fraction,
  Exponent,
  ExponentSign,
  ExponentDigits,
  Literal,
}

enum Container {
  ObjectKey,
  ObjectValue,
  Array,
}

class SyntaxFailure extends Error {}

/** Go's JSON syntax check of a whole text, one byte at a time. */
class Scanner {
  state = State.BeginValue;
  readonly stack: Container[] = [];
  /** Hex digits of a \u escape seen so far. */
  hexDigits = 0;
  /** The literal being read (true, false, null) and how much of it was seen. */
  literal = "";
  literalSeen = 0;

  /** True once a whole top-level value was read (only spaces may follow). */
  complete(): boolean {
    return this.state === State.EndTop;
  }

  fail(c: number, context: string): never {
    throw new SyntaxFailure(`invalid character ${quoteByte(c)} ${context}`);
  }

  push(c: number, container: Container): void {
    this.stack.push(container);
    if (this.stack.length > MAX_NESTING_DEPTH) this.fail(c, "exceeded max depth");
  }

  beginValue(c: number): void {
    if (isSpace(c)) return;
    switch (c) {
      case 0x7b: // {
        this.push(c, Container.ObjectKey);
        this.state = State.BeginKeyOrEmpty;
        return;
      case 0x5b: // [
        this.push(c, Container.Array);
        this.state = State.BeginValueOrEmpty;
        return;
      case 0x22:
        this.state = State.InString;
        return;
      case 0x2d:
        this.state = State.Negative;
        return;
      case 0x30:
        this.state = State.Zero;
        return;
      case 0x74:
        return this.startLiteral("true");
      case 0x66:
        return this.startLiteral("false");
      case 0x6e:
        return this.startLiteral("null");
    }
    if (isDigit(c)) {
      this.state = State.Integer;
      return;
    }
    this.fail(c, "looking for beginning of value");
  }

  startLiteral(word: string): void {
    this.literal = word;
    this.literalSeen = 1;
    this.state = State.Literal;
  }

  /** After a complete value: what the enclosing container allows next. */
  endValue(c: number): void {
    const top = this.stack.length === 0 ? undefined : this.stack[this.stack.length - 1];
    if (top === undefined) {
      this.state = State.EndTop;
      return this.endTop(c);
    }
    if (isSpace(c)) {
      this.state = State.EndValue;
      return;
    }
    switch (top) {
      case Container.ObjectKey:
        if (c !== 0x3a) this.fail(c, "after object key");
        this.stack[this.stack.length - 1] = Container.ObjectValue;
        this.state = State.BeginValue;
        return;
      case Container.ObjectValue:
        if (c === 0x2c) {
          this.stack[this.stack.length - 1] = Container.ObjectKey;
          this.state = State.BeginKey;
          return;
        }
        if (c !== 0x7d) this.fail(c, "after object key:value pair");
        this.stack.pop();
        this.state = State.EndValue;
        return;
      case Container.Array:
        if (c === 0x2c) {
          this.state = State.BeginValue;
          return;
        }
        if (c !== 0x5d) this.fail(c, "after array element");
        this.stack.pop();
        this.state = State.EndValue;
        return;
    }
  }

  endTop(c: number): void {
    if (!isSpace(c)) this.fail(c, "after top-level value");
  }

  step(c: number): void {
    switch (this.state) {
      case State.BeginValue:
        return this.beginValue(c);
      case State.BeginValueOrEmpty:
        if (isSpace(c)) return;
        if (c === 0x5d) return this.endValue(c);
        return this.beginValue(c);
      case State.BeginKeyOrEmpty:
        if (isSpace(c)) return;
        if (c === 0x7d) {
          this.stack[this.stack.length - 1] = Container.ObjectValue;
          return this.endValue(c);
        }
        return this.beginKey(c);
      case State.BeginKey:
        return this.beginKey(c);
      case State.EndValue:
        return this.endValue(c);
      case State.EndTop:
        return this.endTop(c);
      case State.InString:
        if (c === 0x22) this.state = State.EndValue;
        else if (c === 0x5c) this.state = State.InStringEscape;
        else if (c < 0x20) this.fail(c, "in string literal");
        return;
      case State.InStringEscape:
        if (c === 0x75) {
          this.hexDigits = 0;
          this.state = State.InUnicodeEscape;
          return;
        }
        if (!'"\\/bfnrt'.includes(String.fromCharCode(c))) this.fail(c, "in string escape code");
        this.state = State.InString;
        return;
      case State.InUnicodeEscape:
        if (!isHex(c)) this.fail(c, "in \\u hexadecimal character escape");
        if (++this.hexDigits === 4) this.state = State.InString;
        return;
      case State.Negative:
        if (c === 0x30) this.state = State.Zero;
        else if (isDigit(c)) this.state = State.Integer;
        else this.fail(c, "in numeric literal");
        return;
      case State.Integer:
        if (isDigit(c)) return;
        return this.afterInteger(c);
      case State.Zero:
        return this.afterInteger(c);
      case State.Dot:
        if (!isDigit(c)) this.fail(c, "after decimal point in numeric literal");
        this.state = State.Fraction;
        return;
      case State.Fraction:
        if (isDigit(c)) return;
        if (c === 0x65 || c === 0x45) {
          this.state = State.Exponent;
          return;
        }
        return this.endValue(c);
      case State.Exponent:
        if (c === 0x2b || c === 0x2d) {
          this.state = State.ExponentSign;
          return;
        }
        return this.exponentSign(c);
      case State.ExponentSign:
        return this.exponentSign(c);
      case State.ExponentDigits:
        if (isDigit(c)) return;
        return this.endValue(c);
      case State.Literal: {
        const expected = this.literal.charCodeAt(this.literalSeen);
        if (c !== expected) {
          this.fail(c, `in literal ${this.literal} (expecting ${quoteByte(expected)})`);
        }
        if (++this.literalSeen === this.literal.length) this.state = State.EndValue;
        return;
      }
    }
  }

  beginKey(c: number): void {
    if (isSpace(c)) return;
    if (c !== 0x22) this.fail(c, "looking for beginning of object key string");
    this.state = State.InString;
  }

  afterInteger(c: number): void {
    if (c === 0x2e) {
      this.state = State.Dot;
      return;
    }
    if (c === 0x65 || c === 0x45) {
      this.state = State.Exponent;
      return;
    }
    this.endValue(c);
  }

  exponentSign(c: number): void {
    if (!isDigit(c)) this.fail(c, "in exponent of numeric literal");
    this.state = State.ExponentDigits;
  }
}

/**
 * Go's message for `bytes`, or undefined when they are valid JSON for Go (well formed and at
 * most 10000 levels deep).
 */
export function goJSONSyntaxError(bytes: Uint8Array): string | undefined {
  const scanner = new Scanner();
  try {
    for (const c of bytes) scanner.step(c);
    if (scanner.complete()) return undefined;
    // Go's end of input: one more space, then the text must be complete.
    scanner.step(0x20);
    return scanner.complete() ? undefined : "unexpected end of JSON input";
  } catch (error) {
    if (error instanceof SyntaxFailure) return error.message;
    throw error;
  }
}
