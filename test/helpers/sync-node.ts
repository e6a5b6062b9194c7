import type { SecurityEvent } from "../../src/network/index.js";
import { penaltyFor } from "../../src/node/penalties.js";
import type { Block } from "../../src/primitives/block.js";
import { blockEnvelope } from "../../src/primitives/block.js";
import type { SyncOptions } from "../../src/sync/options.js";
import { SyncManager } from "../../src/sync/sync-manager.js";
import type { PeerOffence, PeerScorer } from "../../src/sync/types.js";
import type { Logger } from "../../src/util/index.js";
import { type OpenedChain, openChain } from "./open-chain.js";
import { createTestLibp2p, type TestLibp2p } from "./sync-libp2p.js";
import { tempDir } from "./temp-dir.js";

export interface Penalty {
  peerId: string;
  code: string;
  points: number;
  detail?: Record<string, unknown>;
}

/** Records every security-log line the scorer writes, for assertions. */
export class RecordingSecurityLog {
  readonly entries: SecurityEvent[] = [];
}

/**
 * Charges by the real penalty table, as `PeerReputation` does, for assertions: `reports` holds
 * every call, `penalties` the ones that cost points (with their security-log lines).
 */
export class RecordingScorer implements PeerScorer {
  readonly reports: Penalty[] = [];
  readonly penalties: Penalty[] = [];
  constructor(readonly securityLog = new RecordingSecurityLog()) {}
  penalize(peerId: string, code: string, offence?: PeerOffence): number {
    const points = penaltyFor(code);
    if (points === undefined) throw new Error(`no penalty table entry for ${code}`);
    const detail = offence?.detail;
    const report = { peerId, code, points, ...(detail ? { detail } : {}) };
    this.reports.push(report);
    if (points <= 0) return 0;
    this.penalties.push(report);
    this.securityLog.entries.push({
      peerId,
      code,
      kind: offence?.kind ?? "frame",
      ...(detail ? { detail } : {}),
    });
    return points;
  }
}

export interface SyncTestNode extends TestLibp2p, OpenedChain {
  sync: SyncManager;
  scorer: RecordingScorer;
  securityLog: RecordingSecurityLog;
  id: string;
  /** stops sync and libp2p, closes the store, removes the temp dir */
  destroy: () => Promise<void>;
}

/**
 * A real node for sync tests: libp2p on 127.0.0.1, a chain on LevelDB in a temp dir, sync started.
 * `signatureWorkers`: verify on a worker pool as `createNode` does (sync prefetches each batch
 * into it); by default signatures verify inline.
 */
export async function createSyncNode(
  blocks: readonly Block[] = [],
  opts: Partial<SyncOptions> = {},
  chainOpts: { signatureWorkers?: boolean; log?: Logger } = {},
): Promise<SyncTestNode> {
  const dir = tempDir("quarry-sync-");
  const opened = await openChain(dir.path, chainOpts);
  for (const block of blocks) await opened.chain.processBlock(blockEnvelope(block));
  const net = await createTestLibp2p();
  const securityLog = new RecordingSecurityLog();
  const scorer = new RecordingScorer(securityLog);
  const sync = new SyncManager(opts, {
    libp2p: net.libp2p,
    chain: opened.chain,
    privateKey: net.privateKey,
    scorer,
    ...(chainOpts.log ? { log: chainOpts.log } : {}),
  });
  await sync.start();
  let destroyed = false;
  return {
    ...net,
    ...opened,
    sync,
    scorer,
    securityLog,
    id: net.libp2p.peerId.toString(),
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      await sync.stop();
      await net.libp2p.stop();
      await opened.close();
      dir.cleanup();
    },
  };
}
