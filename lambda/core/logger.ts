import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The service's one structured logger. Log level comes from POWERTOOLS_LOG_LEVEL (default INFO).
 * Nothing logged may contain image bytes, file names or other data a client sent about a patient.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "pneumonia-classifier" });
