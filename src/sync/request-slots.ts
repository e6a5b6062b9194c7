/**
 * Bounds how many requests this node keeps open to one peer at a time. A server refuses (and
 * charges) a peer over its per-peer stream limit (`maxInboundStreamsPerPeer`, 16 by default), so
 * an honest client must never get there, however many orphans, batches and status exchanges want
 * that peer at once: requests over this bound wait for a slot (their deadline keeps running).
 */
export const MAX_OUTBOUND_REQUESTS_PER_PEER = 8;

interface PeerSlots {
  open: number;
  waiting: Array<() => void>;
}

/** Slots per peer; one instance per libp2p node (requests of several nodes in one process do not share). */
export class RequestSlots {
  private readonly peers = new Map<string, PeerSlots>();

  constructor(private readonly perPeer = MAX_OUTBOUND_REQUESTS_PER_PEER) {}

  /** Waits for a free slot to `peer`; rejects with the signal's reason if it aborts first. */
  async acquire(peer: string, signal: AbortSignal): Promise<() => void> {
    let slots = this.peers.get(peer);
    if (!slots) {
      slots = { open: 0, waiting: [] };
      this.peers.set(peer, slots);
    }
    const entry = slots;
    if (entry.open >= this.perPeer) {
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = entry.waiting.indexOf(wake);
          if (i >= 0) entry.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        entry.waiting.push(wake);
      });
    } else entry.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = entry.waiting.shift();
      if (next)
        next(); // the slot passes straight to the next waiter
      else if (--entry.open === 0) this.peers.delete(peer);
    };
  }

  /** Requests open to `peer` now. */
  openTo(peer: string): number {
    return this.peers.get(peer)?.open ?? 0;
  }
}

const slotsByNode = new WeakMap<object, RequestSlots>();

/** The request slots of one libp2p node. */
export function requestSlotsOf(node: object): RequestSlots {
  let slots = slotsByNode.get(node);
  if (!slots) {
    slots = new RequestSlots();
    slotsByNode.set(node, slots);
  }
  return slots;
}
