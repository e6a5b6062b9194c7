import { parentPort } from "node:worker_threads";
import {
  type SignatureWorkerRequest,
  type SignatureWorkerResponse,
  verifyEncodedTransfers,
} from "./signature-verify.js";

/**
 * Worker-thread shell around `verifyEncodedTransfers`: receives chunks of transfer encodings,
 * answers one byte per transfer. All logic lives in the pure function (tested inline too); this
 * file only moves buffers. Each worker keeps its own KeyObject cache (primitives/keys.ts).
 */

const port = parentPort;
if (port === null) throw new Error("signature-worker.js must run in a worker thread");

port.on("message", (request: SignatureWorkerRequest) => {
  if (request.type === "verify") {
    const results = verifyEncodedTransfers(new Uint8Array(request.encodings), request.count);
    const response: SignatureWorkerResponse = {
      type: "result",
      chunkId: request.chunkId,
      results: results.buffer,
    };
    port.postMessage(response, [response.results]);
  }
});

const ready: SignatureWorkerResponse = { type: "ready" };
port.postMessage(ready);
