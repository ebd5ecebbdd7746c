import * as logs from "aws-cdk-lib/aws-logs";

/** How long every log group of the stack keeps its events unless told otherwise: a month. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** Retention periods, in days, that CloudWatch Logs accepts and `-c logRetentionDays` offers: 1 to 3653, no never-expire. */
export const LOG_RETENTION_DAYS: readonly logs.RetentionDays[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
