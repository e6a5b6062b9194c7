export { AddressError, AddressErrorCode, decodeAddress, encodeAddress } from "./address.js";
export {
  type Block,
  blockEnvelope,
  blockHash,
  blockSize,
  type DecodedBlock,
  decodeBlock,
  decodeBlockEnvelope,
  encodeBlock,
  MAX_BLOCK_BYTES_DECODE,
} from "./block.js";
export {
  assertBytes,
  concatBytes,
  equalBytes,
  fromHex,
  isU32,
  isU64,
  toHex,
  U32_MAX,
  U64_MAX,
  wipe,
} from "./bytes.js";
export { ByteReader, ByteWriter, CodecError, CodecErrorCode, outOfRange, tooLarge } from "./codec.js";
export { verifyStrictJs } from "./ed25519-js.js";
export { sha256, sha256d } from "./hash.js";
export {
  type BlockHeader,
  decodeHeader,
  encodeHeader,
  HASH_LENGTH,
  HEADER_NONCE_OFFSET,
  HEADER_SIZE,
  HEADER_TIME_OFFSET,
  headerHash,
  headerToJson,
  readHeader,
} from "./header.js";
export {
  ADDRESS_HASH_LENGTH,
  addressHashOf,
  PUBLIC_KEY_LENGTH,
  publicKeyFromSeed,
  SEED_LENGTH,
  SIGNATURE_LENGTH,
  signMessage,
  verifySignature,
} from "./keys.js";
export { SHA256_IV, SHA256_K } from "./sha256-constants.js";
export {
  COINBASE_SIZE,
  type CoinbaseTx,
  decodeTransaction,
  encodeTransaction,
  senderOf,
  signTransfer,
  TRANSFER_SIZE,
  type Transaction,
  type TransferTx,
  TX_SIGNING_DOMAIN,
  TxType,
  transactionId,
  transactionSize,
  transactionToJson,
  transferSigningMessage,
  type UnsignedTransfer,
} from "./transaction.js";
