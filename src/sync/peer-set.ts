import type { PeerId } from "@libp2p/interface";
import { toHex } from "../primitives/index.js";
import type { StatusMessage } from "./codec.js";

/** What sync knows about one connected peer. */
export interface SyncPeer {
  id: string;
  peerId: PeerId;
  status: StatusMessage;
  tipHex: string;
  inFlight: number;
  /** left out of sync (anchor and downloads) until then: it failed us (see PeerJudge) */
  unavailableUntil: number;
}

/** The peers with a known status, and the choice of who serves the next batch. */
export class PeerSet {
  private readonly peers = new Map<string, SyncPeer>();
  private turn = 0;

  get size(): number {
    return this.peers.size;
  }

  get(id: string): SyncPeer | undefined {
    return this.peers.get(id);
  }

  /**
   * Records `status`. A known peer is updated in place: downloads in flight hold this object and
   * release their request slot on it (a copy would keep those slots taken for good).
   */
  set(peerId: PeerId, status: StatusMessage): SyncPeer {
    const id = peerId.toString();
    const old = this.peers.get(id);
    if (old) {
      old.status = status;
      old.tipHex = toHex(status.tipHash);
      return old;
    }
    const peer: SyncPeer = {
      id,
      peerId,
      status,
      tipHex: toHex(status.tipHash),
      inFlight: 0,
      unavailableUntil: 0,
    };
    this.peers.set(id, peer);
    return peer;
  }

  delete(id: string): void {
    this.peers.delete(id);
  }

  /** The available peer claiming the most work (ties: the first found). */
  best(now: number): SyncPeer | undefined {
    let best: SyncPeer | undefined;
    for (const peer of this.peers.values())
      if (peer.unavailableUntil <= now && (!best || peer.status.chainWork > best.status.chainWork))
        best = peer;
    return best;
  }

  /** The highest height an available peer claims (a backed-off liar's claim does not count). */
  maxHeight(now: number): number {
    let max = 0;
    for (const peer of this.peers.values())
      if (peer.unavailableUntil <= now) max = Math.max(max, peer.status.height);
    return max;
  }

  /**
   * A peer for a batch ending at `endHeight`: it must reach that height, have a free request slot
   * and be available; peers that failed this batch come last. Load spreads by fewest requests
   * in flight, then round robin.
   */
  pick(
    endHeight: number,
    maxInFlight: number,
    avoid: ReadonlySet<string>,
    now: number,
  ): SyncPeer | undefined {
    const all = [...this.peers.values()];
    const rotated = all
      .slice(this.turn % Math.max(all.length, 1))
      .concat(all.slice(0, this.turn % Math.max(all.length, 1)));
    const usable = rotated.filter(
      (p) => p.status.height >= endHeight && p.inFlight < maxInFlight && p.unavailableUntil <= now,
    );
    const ranked = usable.sort(
      (a, b) => Number(avoid.has(a.id)) - Number(avoid.has(b.id)) || a.inFlight - b.inFlight,
    );
    const chosen = ranked[0];
    if (chosen) this.turn++;
    return chosen;
  }
}
