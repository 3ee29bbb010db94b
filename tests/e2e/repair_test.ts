/**
 * Kernel drift is repaired within a second, from the kernel's own notifications: the VXLAN
 * device deleted, its MAC rewritten, a peer's route, FDB entry and neighbour deleted. A ping
 * between pods on the two nodes runs through all of it and loses nothing: each fault is injected
 * just after a reply, and repaired before the next echo leaves a second later.
 */
import assert from "node:assert/strict";
import { Lab, type LabNode, type Pod } from "../../scripts/lab.ts";
import { FAULTS, timeRepair } from "../../scripts/lab_faults.ts";
import { advertisedMAC, E2E, waitForPeers } from "./helpers.ts";

/** A continuous `ping -i 1` from `pod`, read reply by reply. */
function continuousPing(pod: Pod, target: string) {
  const child = pod.netns.spawn(["ping", "-n", "-i", "1", "-W", "1", target], {
    stdout: "piped",
    stderr: "null",
  });
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const output: string[] = [];
  return {
    output,
    /** Resolves at the next echo reply. */
    async nextReply(): Promise<void> {
      for (;;) {
        const newline = buffered.indexOf("\n");
        if (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          output.push(line);
          if (line.includes("icmp_seq=")) return;
          continue;
        }
        const { done, value } = await lines.read();
        if (done) throw new Error(`ping ended: ${output.join("\n")}`);
        buffered += value;
      }
    },
    /** Stops the ping (SIGINT) and returns [transmitted, received]. */
    async stop(): Promise<[number, number]> {
      child.kill("SIGINT");
      for (;;) {
        const { done, value } = await lines.read();
        if (done) break;
        buffered += value;
      }
      await child.status;
      const summary = buffered.match(/(\d+) packets transmitted, (\d+) received/);
      if (!summary) throw new Error(`no ping summary in: ${buffered}`);
      return [Number(summary[1]), Number(summary[2])];
    },
  };
}

Deno.test({
  name: "repair: every injected fault is repaired within 1 s and a continuous ping loses nothing",
  ...E2E,
  async fn() {
    await using lab = await Lab.create([{ name: "edge-1" }, { name: "edge-2" }]);
    const [edge1, edge2] = ["edge-1", "edge-2"].map((name) => lab.node(name)) as [
      LabNode,
      LabNode,
    ];
    // A resync interval far longer than the test: only kernel notifications can repair in time.
    for (const node of [edge1, edge2]) node.startVtepd(["--resync-seconds=3600"]);
    await waitForPeers(edge1, [edge2]);
    await waitForPeers(edge2, [edge1]);
    const ownMac = (await edge1.vtepMAC())!;
    const peerMac = (await advertisedMAC(lab, edge2))!;
    const client = await edge2.addPod("client");
    const server = await edge1.addPod("server");

    const ping = continuousPing(client, server.ip);
    try {
      await ping.nextReply();
      for (const fault of FAULTS) {
        await ping.nextReply();
        await new Promise((resolve) => setTimeout(resolve, 100));
        const ms = await timeRepair(fault, edge1, edge2, peerMac, ownMac);
        assert.ok(ms < 1000, `${fault.name}: repaired after ${Math.round(ms)} ms`);
      }
      await ping.nextReply();
    } finally {
      const [sent, received] = await ping.stop();
      assert.ok(sent >= FAULTS.length + 2, `only ${sent} echoes sent`);
      assert.equal(
        received,
        sent,
        `lost ${sent - received} of ${sent}:\n${ping.output.join("\n")}`,
      );
    }
    const log = await edge1.log();
    assert.match(log, /repaired kernel drift/);
    assert.match(log, /VXLAN device was recreated; replaying every peer/);
    assert.doesNotMatch(log, /reconciliation failed|repair after a kernel change failed/);
  },
});
