export {
  type BlockPackage,
  decodePackage,
  encodePackage,
  MAX_PACKAGE_BLOCKS,
  MAX_PACKAGE_BYTES,
  type OpenedPackage,
  openPackage,
  PACKAGE_DOMAIN_TAG,
  packageSigningMessage,
  signPackage,
} from "./block-package.js";
export { PackageError, PackageErrorCode, type PackageErrorType } from "./errors.js";
export {
  copyChainStore,
  type ImportDeps,
  type ImportResult,
  importPackage,
  openScratchChain,
  type PackageChain,
  type ScratchChain,
} from "./import.js";
