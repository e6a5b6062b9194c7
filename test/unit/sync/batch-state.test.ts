import { describe, expect, it } from "vitest";
import { Batch, BatchStatus } from "../../../src/sync/batch-state.js";
import { SyncError, SyncErrorCode } from "../../../src/sync/errors.js";

const limits = { maxDownloadAttempts: 3, maxProcessingAttempts: 2 };
const hashes = ["aa", "bb", "cc"];

describe("batch state machine", () => {
  it("walks AwaitingDownload → Downloading → AwaitingProcessing → Processing → Done", () => {
    const batch = new Batch(11, hashes, limits);
    expect(batch.status).toBe(BatchStatus.AwaitingDownload);
    expect(batch.endHeight).toBe(13);
    batch.startDownloading("peer-a");
    expect(batch.status).toBe(BatchStatus.Downloading);
    expect(batch.peerId).toBe("peer-a");
    batch.downloadSucceeded([]);
    expect(batch.status).toBe(BatchStatus.AwaitingProcessing);
    batch.startProcessing();
    expect(batch.status).toBe(BatchStatus.Processing);
    batch.processingSucceeded();
    expect(batch.status).toBe(BatchStatus.Done);
  });

  it("a failed download goes back to AwaitingDownload and remembers the peer, until attempts run out", () => {
    const batch = new Batch(1, hashes, limits);
    for (const [i, peer] of ["a", "b"].entries()) {
      batch.startDownloading(peer);
      expect(batch.downloadFailed(SyncErrorCode.TIMEOUT)).toBe(BatchStatus.AwaitingDownload);
      expect(batch.attempts.download).toHaveLength(i + 1);
    }
    expect([...batch.failedPeers]).toEqual(["a", "b"]);
    batch.startDownloading("c");
    expect(batch.downloadFailed(SyncErrorCode.STREAM_FAILED)).toBe(BatchStatus.Failed);
  });

  it("a failed processing drops the blocks and retries the download, bounded", () => {
    const batch = new Batch(1, hashes, limits);
    for (const expected of [BatchStatus.AwaitingDownload, BatchStatus.Failed]) {
      batch.startDownloading("evil");
      batch.downloadSucceeded([]);
      batch.startProcessing();
      expect(batch.processingFailed(SyncErrorCode.INVALID_BATCH)).toBe(expected);
      expect(batch.blocks).toBeUndefined();
    }
    expect(batch.attempts.processing.map((a) => a.peerId)).toEqual(["evil", "evil"]);
  });

  it("SYNC_BAD_BATCH_STATE: a transition from the wrong state throws", () => {
    const batch = new Batch(1, hashes, limits);
    const attempts: (() => unknown)[] = [
      () => batch.downloadSucceeded([]),
      () => batch.startProcessing(),
      () => batch.processingSucceeded(),
      () => batch.downloadFailed("x"),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(SyncError);
      try {
        attempt();
      } catch (err) {
        expect((err as SyncError).type.code).toBe(SyncErrorCode.BAD_BATCH_STATE);
      }
    }
  });
});
