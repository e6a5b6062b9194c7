export { dashboardPages } from "./dashboard.js";
export {
  optionalIntParam,
  RpcError,
  RpcErrorCode,
  type RpcMethodTable,
  type RpcParams,
  stringParam,
} from "./rpc.js";
export { ApiServer, COOKIE_FILE, ENDPOINT_FILE } from "./server.js";
