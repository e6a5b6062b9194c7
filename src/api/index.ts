export { dashboardPages } from "./dashboard.js";
export {
  DEFAULT_EVENT_HUB_OPTIONS,
  EVENT_TOPICS,
  EventHub,
  type EventHubOptions,
  type EventTopic,
} from "./event-hub.js";
export type { DropReason } from "./event-stream.js";
export { explorerPages } from "./explorer.js";
export {
  buildOpenApiDocument,
  type JsonSchema,
  type MethodSchema,
  OpenApiCoverageError,
  type ParamSchema,
  schemaCoverageProblems,
} from "./openapi.js";
export {
  optionalIntParam,
  RpcError,
  RpcErrorCode,
  type RpcMethodTable,
  type RpcParams,
  stringParam,
} from "./rpc.js";
export { ApiServer, COOKIE_FILE, ENDPOINT_FILE } from "./server.js";
