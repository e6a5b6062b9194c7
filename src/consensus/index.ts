export {
  type Account,
  accountTreeKey,
  accountValueHash,
  decodeAccount,
  EMPTY_ACCOUNT,
  encodeAccount,
  isEmptyAccount,
} from "./account.js";
export { checkBlockBody, checkHeader } from "./block-rules.js";
export { expectedBits, medianTimePast, powLimit } from "./difficulty.js";
export { BlockError, BlockErrorCode, TxError, TxErrorCode } from "./errors.js";
export { genesisBlock } from "./genesis.js";
export { type CheckedHeaderRun, checkHeaderRun, type HeaderChainTip } from "./header-chain.js";
export { merkleRoot } from "./merkle.js";
export {
  BLOCK_VERSION,
  blockSubsidy,
  DEFAULT_NETWORK,
  getNetworkParams,
  isNetworkName,
  NETWORK_NAMES,
  type NetworkName,
  type NetworkParams,
} from "./params.js";
export { checkProofOfWork, compactToTarget, hashToBigInt, workFromBits } from "./pow.js";
export { applyBlockState, stateRootAfter, touchedAddresses } from "./state.js";
export {
  decodeTreeNode,
  EMPTY_TREE_ROOT,
  MemoryTreeNodeStore,
  NEW_NODE_ENTRY_LENGTH,
  NewTreeNodes,
  rootFromLeaves,
  TREE_HASH_LENGTH,
  type TreeNodeReader,
} from "./state-tree.js";
export { applyTransfer, checkTransferStateless } from "./tx-rules.js";
