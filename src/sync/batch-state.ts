import type { DecodedBlock } from "../primitives/index.js";
import { SyncError, SyncErrorCode } from "./errors.js";

/** Where one batch is in its life. */
export enum BatchStatus {
  AwaitingDownload = "AwaitingDownload",
  Downloading = "Downloading",
  AwaitingProcessing = "AwaitingProcessing",
  Processing = "Processing",
  Done = "Done",
  /** retries exhausted; the sync round that owns the batch gives up */
  Failed = "Failed",
}

export interface BatchAttempt {
  peerId: string;
  /** error code of the failure */
  code: string;
}

export interface BatchLimits {
  maxDownloadAttempts: number;
  maxProcessingAttempts: number;
}

/**
 * One range of heights to fetch and import, as an explicit state machine (Lodestar's
 * `sync/range/batch.ts` shape). The expected hashes come from the locator answer; the batch
 * holds its downloaded blocks only between download and processing.
 *
 * AwaitingDownload → Downloading → AwaitingProcessing → Processing → Done; a failed download
 * or processing goes back to AwaitingDownload (on another peer) until its attempts run out.
 */
export class Batch {
  private statusValue = BatchStatus.AwaitingDownload;
  private peer: string | undefined;
  private blocksValue: DecodedBlock[] | undefined;
  private bytesValue = 0;
  private readonly downloadFailures: BatchAttempt[] = [];
  private readonly processingFailures: BatchAttempt[] = [];

  constructor(
    /** height of the first block */
    readonly startHeight: number,
    /** hex ids the batch must hold, in height order */
    readonly expectedHashes: readonly string[],
    private readonly limits: BatchLimits,
  ) {
    if (!Number.isInteger(startHeight) || startHeight < 1) throw new RangeError("startHeight must be ≥ 1");
    if (expectedHashes.length < 1) throw new RangeError("a batch holds at least one block");
  }

  get status(): BatchStatus {
    return this.statusValue;
  }

  get count(): number {
    return this.expectedHashes.length;
  }

  get endHeight(): number {
    return this.startHeight + this.expectedHashes.length - 1;
  }

  /** The peer of the current download or of the blocks awaiting or in processing. */
  get peerId(): string | undefined {
    return this.peer;
  }

  get blocks(): DecodedBlock[] | undefined {
    return this.blocksValue;
  }

  /** Encoded size of the blocks held (0 when none are: before download and after processing). */
  get bytes(): number {
    return this.bytesValue;
  }

  /** Peers that failed this batch, to try others first. */
  get failedPeers(): ReadonlySet<string> {
    return new Set([...this.downloadFailures, ...this.processingFailures].map((a) => a.peerId));
  }

  get attempts(): { download: readonly BatchAttempt[]; processing: readonly BatchAttempt[] } {
    return { download: this.downloadFailures, processing: this.processingFailures };
  }

  private expect(status: BatchStatus, transition: string): void {
    if (this.statusValue !== status) {
      throw new SyncError(
        SyncErrorCode.BAD_BATCH_STATE,
        `batch ${this.startHeight}: ${transition} needs ${status}, is ${this.statusValue}`,
      );
    }
  }

  /** AwaitingDownload -> Downloading */
  startDownloading(peerId: string): void {
    this.expect(BatchStatus.AwaitingDownload, "startDownloading");
    this.peer = peerId;
    this.statusValue = BatchStatus.Downloading;
  }

  /** Downloading -> AwaitingProcessing */
  downloadSucceeded(blocks: DecodedBlock[]): void {
    this.expect(BatchStatus.Downloading, "downloadSucceeded");
    this.blocksValue = blocks;
    this.bytesValue = blocks.reduce((sum, b) => sum + b.bytes.length, 0);
    this.statusValue = BatchStatus.AwaitingProcessing;
  }

  /** Downloading -> AwaitingDownload, or -> Failed when download attempts are exhausted */
  downloadFailed(code: string): BatchStatus {
    this.expect(BatchStatus.Downloading, "downloadFailed");
    this.downloadFailures.push({ peerId: this.peer ?? "", code });
    this.peer = undefined;
    this.statusValue =
      this.downloadFailures.length >= this.limits.maxDownloadAttempts
        ? BatchStatus.Failed
        : BatchStatus.AwaitingDownload;
    return this.statusValue;
  }

  /** AwaitingProcessing -> Processing */
  startProcessing(): DecodedBlock[] {
    this.expect(BatchStatus.AwaitingProcessing, "startProcessing");
    this.statusValue = BatchStatus.Processing;
    return this.blocksValue ?? [];
  }

  /** Processing -> Done */
  processingSucceeded(): void {
    this.expect(BatchStatus.Processing, "processingSucceeded");
    this.blocksValue = undefined;
    this.bytesValue = 0;
    this.statusValue = BatchStatus.Done;
  }

  /** Processing -> AwaitingDownload, or -> Failed when processing attempts are exhausted */
  processingFailed(code: string): BatchStatus {
    this.expect(BatchStatus.Processing, "processingFailed");
    this.processingFailures.push({ peerId: this.peer ?? "", code });
    this.peer = undefined;
    this.blocksValue = undefined;
    this.bytesValue = 0;
    this.statusValue =
      this.processingFailures.length >= this.limits.maxProcessingAttempts
        ? BatchStatus.Failed
        : BatchStatus.AwaitingDownload;
    return this.statusValue;
  }
}
