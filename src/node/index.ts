export { createChainServices } from "./chain-services.js";
export { Lifecycle } from "./lifecycle.js";
export { resolveMinerRecipient } from "./miner-recipient.js";
export { createMiningServices } from "./mining-services.js";
