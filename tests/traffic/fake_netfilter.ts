/**
 * A recording CommandRunner that answers like iptables, iptables-restore and nft over a small
 * in-memory model of their state, strict where the real tools are (a `-D` of a rule that is not
 * there, or a rule in a missing chain, fails the whole transaction). Unit tests read `calls` for
 * the exact input each tool got; the kernel tests check the same behaviour for real.
 *
 * @module
 */
import type { CommandResult, CommandRunner } from "../../src/traffic/runner.ts";
import { MissingToolError } from "../../src/traffic/runner.ts";

export interface Call {
  argv: string[];
  stdin?: string;
}

type Chains = Map<string, string[]>;

const BUILTIN: Record<string, string[]> = {
  nat: ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
  filter: ["INPUT", "FORWARD", "OUTPUT"],
};
const TARGETS = new Set(["RETURN", "ACCEPT", "DROP", "MASQUERADE"]);

interface NftChain {
  spec: string;
  rules: string[];
}
interface NftTableState {
  spec: string;
  chains: Map<string, NftChain>;
}

function ok(stdout = ""): CommandResult {
  return { code: 0, stdout, stderr: "" };
}
function fail(stderr: string, code = 1): CommandResult {
  return { code, stdout: "", stderr };
}

export class FakeNetfilter implements CommandRunner {
  readonly calls: Call[] = [];
  /** Programs that are "not installed". */
  readonly missing = new Set<string>();
  /** What `iptables --version` prints after the program name. */
  iptablesVersion = "v1.8.9 (nf_tables)";
  nftFullyRandom = true;
  nftComments = true;
  /** How `iptables -S` prints a stored rule (a different iptables might print it otherwise). */
  printRule: (line: string) => string = (line) => line;
  /** iptables state by "family:table". */
  readonly iptables = new Map<string, Chains>();
  /** nft state by "family name". */
  nft = new Map<string, NftTableState>();

  constructor() {
    for (const family of [4, 6]) {
      for (const [table, chains] of Object.entries(BUILTIN)) {
        this.iptables.set(`${family}:${table}`, new Map(chains.map((chain) => [chain, []])));
      }
    }
  }

  /** The restore and nft -f inputs, in order. */
  get transactions(): Call[] {
    return this.calls.filter((call) => call.stdin !== undefined && !call.argv.includes("--check"));
  }

  /** The `-A` lines of a chain, or undefined when it does not exist. */
  chain(family: 4 | 6, table: string, chain: string): string[] | undefined {
    return this.iptables.get(`${family}:${table}`)!.get(chain);
  }

  run(argv: readonly string[], stdin?: string): Promise<CommandResult> {
    this.calls.push(stdin === undefined ? { argv: [...argv] } : { argv: [...argv], stdin });
    const program = argv[0]!;
    if (this.missing.has(program)) return Promise.reject(new MissingToolError(program));
    const family = program.startsWith("ip6") ? 6 : 4;
    if (/^ip6?tables(-nft|-legacy)?-restore$/.test(program)) {
      if (argv[1] === "--version") {
        return Promise.resolve(ok(`${program} ${this.iptablesVersion}\n`));
      }
      return Promise.resolve(this.#restore(family, stdin ?? ""));
    }
    if (/^ip6?tables(-nft|-legacy)?$/.test(program)) {
      if (argv[1] === "--version") {
        return Promise.resolve(ok(`${program} ${this.iptablesVersion}\n`));
      }
      return Promise.resolve(this.#list(family, argv));
    }
    if (program === "nft") return Promise.resolve(this.#nft(argv.slice(1), stdin));
    return Promise.resolve(fail(`unexpected program ${program}`, 127));
  }

  #list(family: number, argv: readonly string[]): CommandResult {
    const table = argv[argv.indexOf("-t") + 1]!;
    const name = argv[argv.indexOf("-S") + 1]!;
    const rules = this.iptables.get(`${family}:${table}`)?.get(name);
    if (!rules) return fail("iptables: No chain/target/match by that name.");
    const head = BUILTIN[table]!.includes(name) ? `-P ${name} ACCEPT` : `-N ${name}`;
    return ok([head, ...rules.map(this.printRule), ""].join("\n"));
  }

  #restore(family: number, input: string): CommandResult {
    const tables = new Map([...this.iptables].map(([key, chains]) => [
      key,
      new Map([...chains].map(([name, rules]) => [name, [...rules]])),
    ]));
    let current: Chains | undefined;
    for (const [index, line] of input.split("\n").entries()) {
      const error = (why: string) => fail(`iptables-restore: line ${index + 1} failed: ${why}`);
      if (line === "" || line === "COMMIT") continue;
      if (line.startsWith("*")) {
        current = tables.get(`${family}:${line.slice(1)}`);
        if (!current) return error("no such table");
        continue;
      }
      if (!current) return error("no table");
      const declared = /^:(\S+) - \[0:0\]$/.exec(line);
      if (declared) {
        current.set(declared[1]!, []);
        continue;
      }
      const [action, chain] = line.split(" ");
      const rules = current.get(chain!);
      if (!rules) return error(`no chain ${chain}`);
      const asAppend = `-A${line.slice(2)}`;
      if (action === "-A") {
        const target = / -j (\S+)/.exec(line)?.[1];
        if (!target || (!TARGETS.has(target) && !current.has(target))) {
          return error("Couldn't load target");
        }
        rules.push(asAppend);
      } else if (action === "-D") {
        const at = rules.indexOf(asAppend);
        if (at < 0) return error("Bad rule (does a matching rule exist in that chain?).");
        rules.splice(at, 1);
      } else if (action === "-F") {
        rules.length = 0;
      } else if (action === "-X") {
        const referenced = [...current.values()].some((lines) =>
          lines.some((rule) => rule.endsWith(` -j ${chain}`))
        );
        if (referenced || rules.length > 0) return error("Directory not empty / in use");
        current.delete(chain!);
      } else {
        return error(`unknown command ${action}`);
      }
    }
    for (const [key, chains] of tables) this.iptables.set(key, chains);
    return ok();
  }

  #nft(args: readonly string[], stdin: string | undefined): CommandResult {
    if (args[0] === "list" && args[1] === "tables") {
      return ok([...this.nft.keys()].map((key) => `table ${key}\n`).join(""));
    }
    if (args[0] === "list" && args[1] === "table") {
      const table = this.nft.get(`${args[2]} ${args[3]}`);
      if (!table) return fail("Error: No such file or directory");
      let text = `table ${args[2]} ${args[3]} {${table.spec}\n`;
      for (const [name, chain] of table.chains) {
        text += `\tchain ${name} {\n\t\t${chain.spec}\n`;
        for (const rule of chain.rules) text += `\t\t${rule}\n`;
        text += "\t}\n";
      }
      return ok(`${text}}\n`);
    }
    const check = args[0] === "--check";
    if (check && !this.nftComments && stdin?.includes("comment")) return fail("Error: comments");
    if (check && !this.nftFullyRandom && stdin?.includes("fully-random")) {
      return fail("Error: fully-random");
    }
    return this.#nftApply(stdin ?? "", check);
  }

  #nftApply(input: string, check: boolean): CommandResult {
    const state = new Map([...this.nft].map(([key, table]) => [key, {
      spec: table.spec,
      chains: new Map([...table.chains].map(([name, chain]) => [name, {
        spec: chain.spec,
        rules: [...chain.rules],
      }])),
    }]));
    for (const line of input.split("\n")) {
      if (line === "") continue;
      const match = /^(add|delete|flush) (table|chain|rule) (ip6?) (\S+)(?: (\S+))?(.*)$/.exec(
        line,
      );
      if (!match) return fail(`Error: syntax error: ${line}`);
      const [, verb, object, family, name, chainName, rest] = match;
      const key = `${family} ${name}`;
      const table = state.get(key);
      if (object === "table") {
        if (verb === "add") {
          if (!table) state.set(key, { spec: (chainName ?? "") + rest, chains: new Map() });
        } else if (verb === "delete") {
          if (!table) return fail("Error: No such file or directory");
          state.delete(key);
        }
        continue;
      }
      if (!table) return fail("Error: No such file or directory");
      const chain = table.chains.get(chainName!);
      if (object === "chain") {
        if (verb === "add" && !chain) table.chains.set(chainName!, { spec: rest!, rules: [] });
        else if (verb === "flush" || verb === "delete") {
          if (!chain) return fail("Error: No such file or directory");
          if (verb === "flush") chain.rules.length = 0;
          else table.chains.delete(chainName!);
        }
        continue;
      }
      if (!chain) return fail("Error: No such file or directory");
      chain.rules.push(rest!.trim());
    }
    if (!check) this.nft = state;
    return ok();
  }
}
