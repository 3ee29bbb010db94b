/**
 * `nft`: probes (object comments, `masquerade fully-random`) with `nft --check`, listings, and
 * transactions with `nft -f -`; and the nftables clean-up of the iptables mode.
 *
 * @module
 */
import type { TrafficAction } from "./actions.ts";
import {
  commentProbe,
  deleteTableLine,
  fullyRandomProbe,
  listedTables,
  NFT_TABLES,
  nftScript,
  type NftTable,
} from "./nftables_rules.ts";
import { type CommandRunner, MissingToolError, runChecked } from "./runner.ts";

export class NftTool {
  constructor(private readonly runner: CommandRunner) {}

  /**
   * Whether the kernel takes comments on tables and chains (knftables `New`): without them
   * flanneld's library leaves the comments out. Also proves that nft runs at all.
   */
  async probeComments(): Promise<boolean> {
    const withComment = await this.runner.run(["nft", "--check", "-f", "-"], commentProbe());
    if (withComment.code === 0) return true;
    await runChecked(
      this.runner,
      ["nft", "--check", "-f", "-"],
      nftScript([`add table ${NFT_TABLES[4].family} ${NFT_TABLES[4].name}`]),
    );
    return false;
  }

  /** Whether `masquerade fully-random` is accepted (flanneld's `checkRandomfully`). */
  async probeFullyRandom(comments: boolean): Promise<boolean> {
    const result = await this.runner.run(["nft", "--check", "-f", "-"], fullyRandomProbe(comments));
    return result.code === 0;
  }

  async listTables(): Promise<NftTable[]> {
    return listedTables(await runChecked(this.runner, ["nft", "list", "tables"]));
  }

  /** `nft list table`'s text, or undefined when the table does not exist. */
  async listTable(table: NftTable): Promise<string | undefined> {
    const result = await this.runner.run(["nft", "list", "table", table.family, table.name]);
    return result.code === 0 ? result.stdout : undefined;
  }

  /** Applies `lines` in one transaction. */
  async apply(lines: readonly string[]): Promise<void> {
    await runChecked(this.runner, ["nft", "-f", "-"], nftScript(lines));
  }
}

/**
 * The iptables mode's clean-up of the nftables mode (flanneld's `NFTablesManager.CleanUp`):
 * deletes the tables `ip flannel-ipv4` and `ip6 flannel-ipv6`. Without nft there is nothing it
 * could remove; that is reported, not an error.
 */
export async function removeNftablesState(
  runner: CommandRunner,
  actions: TrafficAction[],
): Promise<void> {
  const nft = new NftTool(runner);
  let present: NftTable[];
  try {
    present = await nft.listTables();
  } catch (error) {
    if (!(error instanceof MissingToolError)) throw error;
    actions.push({ kind: "skipped", unit: "nftables clean-up", reason: error.message });
    return;
  }
  const ours = Object.values(NFT_TABLES).filter((table) =>
    present.some((found) => found.family === table.family && found.name === table.name)
  );
  if (ours.length === 0) return;
  await nft.apply(ours.map(deleteTableLine));
  for (const table of ours) {
    actions.push({
      kind: "removed",
      unit: `nftables table ${table.family} ${table.name}`,
      reason: "iptables mode",
    });
  }
}
