/**
 * flanneld's masquerade and forward rules, kept in place: `start()` installs them (after
 * removing the other mode's and stale ones), then every resync interval each unit is checked
 * (every rule present, in order, nothing else in flannel's chains) and installed again when it
 * is not. `stop()` ends the loop and leaves the rules, as flanneld does on exit.
 *
 * ```ts
 * const rules = new TrafficRules(config, { onReport: (report) => log(report) });
 * await rules.start(); // throws only for bad config or a missing tool
 * ...
 * await rules.stop();
 * ```
 *
 * @module
 */
import type { ModeApplier, TrafficAction } from "./actions.ts";
import { resolveTrafficConfig, type TrafficConfig } from "./config.ts";
import { IptablesApplier } from "./iptables_applier.ts";
import { NftablesApplier } from "./nftables_applier.ts";
import { type CommandRunner, DenoCommandRunner, MissingToolError } from "./runner.ts";

/** What one pass (the start, or one resync) did. */
export interface TrafficReport {
  phase: "start" | "resync";
  actions: TrafficAction[];
  /** Why the pass could not finish; the next resync tries again. */
  error?: Error;
  /** Whether every rule was in place when the pass ended. */
  inPlace: boolean;
  /** How long the pass took. */
  durationMs: number;
}

/** Counters since start, for metrics. */
export interface TrafficStats {
  /** Units installed at start (or at a retried start). */
  installs: number;
  /** Units found not in place and installed again. */
  repairs: number;
  /** Rule sets removed: the other mode's, an old lease's, a disabled feature's. */
  removals: number;
  /** Resync checks run. */
  checks: number;
  /** Passes that ended with an error. */
  failures: number;
  /** Duration of the last resync check (listing and comparing, before any repair), in ms. */
  lastCheckMs?: number;
}

export interface TrafficRulesOptions {
  /** Runs the tools; default: Deno.Command in this process's namespace. */
  runner?: CommandRunner;
  /** Told about the start and about every resync that did something or failed. */
  onReport?: (report: TrafficReport) => void;
}

export class TrafficRules {
  readonly #config: TrafficConfig;
  readonly #runner: CommandRunner;
  readonly #onReport: (report: TrafficReport) => void;
  #applier: ModeApplier | undefined;
  #resyncMs = 5000;
  #installed = false;
  #inPlace = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The pass under way; passes never overlap. */
  #running: Promise<unknown> = Promise.resolve();
  readonly #stats: TrafficStats = {
    installs: 0,
    repairs: 0,
    removals: 0,
    checks: 0,
    failures: 0,
  };

  constructor(config: TrafficConfig, options: TrafficRulesOptions = {}) {
    this.#config = config;
    this.#runner = options.runner ?? new DenoCommandRunner();
    this.#onReport = options.onReport ?? (() => {});
  }

  get stats(): Readonly<TrafficStats> {
    return { ...this.#stats };
  }

  /** Whether every rule was in place at the end of the last pass. */
  get inPlace(): boolean {
    return this.#inPlace;
  }

  /**
   * Installs every rule and starts the resync loop. Bad config (TrafficConfigError) and a
   * missing tool (MissingToolError) are thrown and start nothing; any other failure is in the
   * report, and the loop tries the installation again.
   */
  async start(): Promise<TrafficReport> {
    if (this.#applier) throw new Error("the traffic rules are already started");
    const config = await resolveTrafficConfig(this.#config);
    this.#resyncMs = config.resyncMs;
    this.#applier = config.nftables
      ? new NftablesApplier(config, this.#runner)
      : new IptablesApplier(config, this.#runner);
    const report = await this.#serialised(() => this.#install());
    if (report.error instanceof MissingToolError) {
      this.#stopped = true;
      throw report.error;
    }
    this.#schedule();
    return report;
  }

  /** One resync pass now (waits for one under way); for tests and for "repair now". */
  resyncNow(): Promise<TrafficReport> {
    return this.#serialised(() => this.#installed ? this.#resync() : this.#install());
  }

  /** Ends the loop after the pass under way; the rules stay. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #serialised(pass: () => Promise<TrafficReport>): Promise<TrafficReport> {
    const next = this.#running.then(pass);
    this.#running = next.catch(() => {});
    return next;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      await this.resyncNow();
      this.#schedule();
    }, this.#resyncMs);
  }

  async #install(): Promise<TrafficReport> {
    const started = performance.now();
    const actions: TrafficAction[] = [];
    let error: Error | undefined;
    try {
      await this.#applier!.install(actions);
      this.#installed = true;
    } catch (caught) {
      error = caught instanceof Error ? caught : new Error(String(caught));
    }
    return this.#finish("start", actions, error, started);
  }

  async #resync(): Promise<TrafficReport> {
    const started = performance.now();
    const actions: TrafficAction[] = [];
    let error: Error | undefined;
    try {
      const broken = await this.#applier!.check();
      this.#stats.checks++;
      this.#stats.lastCheckMs = performance.now() - started;
      if (broken.length > 0) await this.#applier!.repair(broken, actions);
    } catch (caught) {
      error = caught instanceof Error ? caught : new Error(String(caught));
    }
    return this.#finish("resync", actions, error, started);
  }

  #finish(
    phase: TrafficReport["phase"],
    actions: TrafficAction[],
    error: Error | undefined,
    started: number,
  ): TrafficReport {
    for (const action of actions) {
      if (action.kind === "installed") this.#stats.installs++;
      else if (action.kind === "repaired") this.#stats.repairs++;
      else if (action.kind === "removed") this.#stats.removals++;
    }
    if (error) this.#stats.failures++;
    this.#inPlace = error === undefined;
    const report: TrafficReport = {
      phase,
      actions,
      inPlace: this.#inPlace,
      durationMs: performance.now() - started,
    };
    if (error) report.error = error;
    if (phase === "start" || actions.length > 0 || error) this.#onReport(report);
    return report;
  }
}
