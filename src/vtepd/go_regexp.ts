/**
 * Go regular expressions (RE2 syntax, as flanneld's `--iface-regex` takes them) compiled to
 * JavaScript RegExps that match the same strings. A flanneld DaemonSet's regex must select the
 * same interface here, so Go-only syntax is translated and syntax JavaScript would read
 * differently is either translated or refused with a reason; nothing is silently reinterpreted.
 *
 * Translated: leading inline flags `(?i)`, `(?s)`, `(?m)`; `(?P<name>…)`; `\A`, `\z`, `\a`,
 * `\x{…}`, octal escapes, `\Q…\E`; `\pL` and `\p{Greek}`; POSIX classes such as
 * `[[:digit:]]`; an escaped punctuation character; a `{`, `}` or `]` that Go reads as a
 * literal. Refused as Go refuses them: lookarounds, backreferences, unknown escapes, repeat
 * counts over 1000. Refused because JavaScript has no equivalent: the ungreedy flag `U` and
 * inline flags after the start (use the scoped form `(?i:…)`, which both accept).
 *
 * The RegExp is compiled with the `u` flag, so any remaining syntax JavaScript would otherwise
 * take leniently is an error rather than a different meaning.
 *
 * @module
 */

export class GoRegexpError extends Error {
  override name = "GoRegexpError";
}

/** POSIX classes Go accepts inside brackets, as JavaScript class contents (ASCII only, as Go). */
const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7f",
  blank: "\\t ",
  cntrl: "\\x00-\\x1f\\x7f",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/** Go's limit on `{n,m}` counts. */
const MAX_REPEAT = 1000;

function literal(character: string): string {
  return /^[0-9A-Za-z_]$/.test(character)
    ? character
    : `\\u{${character.codePointAt(0)!.toString(16)}}`;
}

function isPunctuation(character: string): boolean {
  return /^[!-/:-@[-`{-~]$/.test(character);
}

class Translator {
  readonly #pattern: string;
  #at = 0;
  #out = "";
  #flags = "";

  constructor(pattern: string) {
    this.#pattern = pattern;
  }

  #fail(reason: string): never {
    throw new GoRegexpError(reason);
  }

  translate(): { source: string; flags: string } {
    this.#leadingFlags();
    while (this.#at < this.#pattern.length) this.#outsideClass();
    return { source: this.#out, flags: `u${this.#flags}` };
  }

  /** `(?ims)` at the very start become RegExp flags; clearing (`-x`) there changes nothing. */
  #leadingFlags(): void {
    for (;;) {
      const match = /^\(\?([imsU]*)(?:-([imsU]*))?\)/.exec(this.#pattern.slice(this.#at));
      if (!match) return;
      const set = match[1] ?? "";
      if (set.includes("U") || (match[2] ?? "").includes("U")) {
        this.#fail("the ungreedy flag U has no JavaScript equivalent");
      }
      for (const flag of set) if (!this.#flags.includes(flag)) this.#flags += flag;
      this.#at += match[0].length;
    }
  }

  #outsideClass(): void {
    const rest = this.#pattern.slice(this.#at);
    const character = rest[0]!;
    switch (character) {
      case "\\":
        this.#escape(false);
        return;
      case "[":
        this.#characterClass();
        return;
      case "(":
        this.#group(rest);
        return;
      case "{": {
        const repeat = /^\{([0-9]+)(?:,([0-9]*))?\}/.exec(rest);
        if (!repeat) {
          // Go reads a brace that starts no valid repeat as a literal.
          this.#out += "\\{";
          this.#at += 1;
          return;
        }
        for (const count of [repeat[1], repeat[2]]) {
          if (count && Number(count) > MAX_REPEAT) {
            this.#fail(`repeat count ${repeat[0]} is over Go's limit of ${MAX_REPEAT}`);
          }
        }
        this.#out += repeat[0];
        this.#at += repeat[0].length;
        return;
      }
      case "}":
      case "]":
        this.#out += `\\${character}`;
        this.#at += 1;
        return;
      default:
        this.#out += character;
        this.#at += character.length;
    }
  }

  #group(rest: string): void {
    if (!rest.startsWith("(?")) {
      this.#out += "(";
      this.#at += 1;
      return;
    }
    if (rest.startsWith("(?P<")) {
      this.#out += "(?<";
      this.#at += 4;
      return;
    }
    if (/^\(\?(?:<[=!]|[=!])/.test(rest)) {
      this.#fail("lookahead and lookbehind are not Go regexp syntax");
    }
    if (rest.startsWith("(?<") || rest.startsWith("(?:")) {
      this.#out += rest.slice(0, 3);
      this.#at += 3;
      return;
    }
    const flags = /^\(\?([imsU]*)(?:-([imsU]*))?([:)])/.exec(rest);
    if (!flags) this.#fail(`unknown group syntax ${JSON.stringify(rest.slice(0, 4))}`);
    if (`${flags[1]}${flags[2] ?? ""}`.includes("U")) {
      this.#fail("the ungreedy flag U has no JavaScript equivalent");
    }
    if (flags[3] === ")") {
      this.#fail(
        `inline flags ${flags[0]} are supported only at the start; use the scoped form (?${
          flags[1]
        }:...)`,
      );
    }
    this.#out += flags[0];
    this.#at += flags[0].length;
  }

  #characterClass(): void {
    this.#out += "[";
    this.#at += 1;
    if (this.#pattern[this.#at] === "^") {
      this.#out += "^";
      this.#at += 1;
    }
    // A `]` first in the class is a literal in Go (JavaScript would read an empty class).
    if (this.#pattern[this.#at] === "]") {
      this.#out += "\\]";
      this.#at += 1;
    }
    while (this.#at < this.#pattern.length) {
      const rest = this.#pattern.slice(this.#at);
      const character = rest[0]!;
      if (character === "]") {
        this.#out += "]";
        this.#at += 1;
        return;
      }
      if (character === "\\") {
        this.#escape(true);
        continue;
      }
      if (rest.startsWith("[:")) {
        const posix = /^\[:(\^?)([a-z]+):\]/.exec(rest);
        if (posix) {
          const contents = POSIX_CLASSES[posix[2]!];
          if (!contents) this.#fail(`unknown POSIX class ${posix[0]}`);
          if (posix[1]) this.#fail(`negated POSIX class ${posix[0]} is not supported`);
          this.#out += contents;
          this.#at += posix[0].length;
          continue;
        }
      }
      this.#out += character === "[" ? "\\[" : character;
      this.#at += character.length;
    }
    this.#fail("missing closing ]");
  }

  #escape(inClass: boolean): void {
    const rest = this.#pattern.slice(this.#at);
    const character = rest[1];
    if (character === undefined) this.#fail("trailing backslash at end of expression");
    if (isPunctuation(character)) {
      this.#emit(literal(character), 2);
      return;
    }
    switch (character) {
      case "a":
        return this.#emit("\\x07", 2);
      case "f":
      case "t":
      case "n":
      case "r":
      case "v":
      case "d":
      case "D":
      case "w":
      case "W":
      case "s":
      case "S":
        return this.#emit(`\\${character}`, 2);
      case "b":
      case "B":
        if (inClass) this.#fail(`\\${character} is not allowed in a character class`);
        return this.#emit(`\\${character}`, 2);
      case "A":
      case "z":
        if (inClass) this.#fail(`\\${character} is not allowed in a character class`);
        return this.#emit(character === "A" ? "(?<![\\s\\S])" : "(?![\\s\\S])", 2);
      case "x":
        return this.#hexEscape(rest);
      case "p":
      case "P":
        return this.#unicodeClass(rest, character === "P");
      case "Q":
        return this.#quoted(rest);
    }
    if (/^[0-7]$/.test(character)) return this.#octal(rest);
    this.#fail(`invalid escape \\${character}`);
  }

  #emit(text: string, consumed: number): void {
    this.#out += text;
    this.#at += consumed;
  }

  #hexEscape(rest: string): void {
    const braced = /^\\x\{([0-9A-Fa-f]{1,6})\}/.exec(rest);
    const short = /^\\x([0-9A-Fa-f]{2})/.exec(rest);
    const match = braced ?? short;
    if (!match || Number.parseInt(match[1]!, 16) > 0x10ffff) {
      this.#fail(`invalid escape ${rest.slice(0, 4)}`);
    }
    this.#emit(`\\u{${match[1]}}`, match[0].length);
  }

  /** `\0`–`\0nn` and `\1nn`–`\7nn` are octal; a lone `\1`–`\9` would be a backreference. */
  #octal(rest: string): void {
    const match = /^\\(0[0-7]{0,2}|[1-7][0-7]{1,2})/.exec(rest);
    if (!match) this.#fail(`backreference ${rest.slice(0, 2)} is not Go regexp syntax`);
    this.#emit(`\\u{${Number.parseInt(match[1]!, 8).toString(16)}}`, match[0].length);
  }

  #unicodeClass(rest: string, negated: boolean): void {
    const match = /^\\[pP](?:\{(\^?)([A-Za-z_]+)\}|([A-Za-z]))/.exec(rest);
    if (!match) this.#fail(`invalid Unicode class ${rest.slice(0, 4)}`);
    const name = match[2] ?? match[3]!;
    const invert = negated !== (match[1] === "^");
    // Go takes one- and two-letter general categories and script names; JavaScript needs
    // `Script=` before a script name.
    const property = name.length <= 2 ? name : `Script=${name}`;
    this.#emit(`\\${invert ? "P" : "p"}{${property}}`, match[0].length);
  }

  #quoted(rest: string): void {
    const end = rest.indexOf("\\E", 2);
    const text = end < 0 ? rest.slice(2) : rest.slice(2, end);
    this.#emit([...text].map(literal).join(""), end < 0 ? rest.length : end + 2);
  }
}

/**
 * Compiles `pattern` with Go's syntax and meaning; `test()` on the result answers as Go's
 * `MatchString` (an unanchored search). Throws GoRegexpError with the reason when Go would not
 * compile it, or when keepnet cannot give it the same meaning.
 */
export function compileGoRegexp(pattern: string): RegExp {
  const { source, flags } = new Translator(pattern).translate();
  try {
    return new RegExp(source, flags);
  } catch (error) {
    // V8 quotes the translated source, which would only confuse: keep the reason alone.
    const reason = (error as Error).message.replace(
      /^Invalid regular expression: \/.*\/[a-z]*: /s,
      "",
    );
    throw new GoRegexpError(reason);
  }
}
