export {
  type BlockImportResult,
  NodeMetrics,
  type NodeMetricsDeps,
  type NodeMetricsOptions,
  type NodeMetricsSources,
  type VerdictRow,
} from "./node-metrics.js";
