import type { Block } from "../../src/primitives/block.js";
import type { SyncOptions } from "../../src/sync/options.js";
import { SyncManager } from "../../src/sync/sync-manager.js";
import type { PeerScorer, SecurityLog, SecurityLogEntry } from "../../src/sync/types.js";
import { type OpenedChain, openChain } from "./open-chain.js";
import { createTestLibp2p, type TestLibp2p } from "./sync-libp2p.js";
import { tempDir } from "./temp-dir.js";

export interface Penalty {
  peerId: string;
  code: string;
  detail?: Record<string, unknown>;
}

/** Records every penalty, for assertions. */
export class RecordingScorer implements PeerScorer {
  readonly penalties: Penalty[] = [];
  penalize(peerId: string, code: string, detail?: Record<string, unknown>): void {
    this.penalties.push({ peerId, code, ...(detail ? { detail } : {}) });
  }
}

/** Records every security-log entry, for assertions. */
export class RecordingSecurityLog implements SecurityLog {
  readonly entries: SecurityLogEntry[] = [];
  record(entry: SecurityLogEntry): void {
    this.entries.push(entry);
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
  chainOpts: { signatureWorkers?: boolean } = {},
): Promise<SyncTestNode> {
  const dir = tempDir("quarry-sync-");
  const opened = await openChain(dir.path, chainOpts);
  for (const block of blocks) await opened.chain.processBlock(block);
  const net = await createTestLibp2p();
  const scorer = new RecordingScorer();
  const securityLog = new RecordingSecurityLog();
  const sync = new SyncManager(opts, {
    libp2p: net.libp2p,
    chain: opened.chain,
    privateKey: net.privateKey,
    scorer,
    securityLog,
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
