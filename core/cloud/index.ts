// The cloud part of the core: what the station, the CLI and the desktop app call.
export { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';
export {
  type CloudClient,
  type CloudClientOptions,
  type CloudResult,
  createCloudClient,
  type ErrorSaid,
  PARTICLE_API_URL,
  type TokenProvider,
  unprotectError,
} from './client';
export {
  type CloudError,
  type CloudErrorCode,
  type CloudFailureKind,
  DEVICE_REJECTIONS,
  type DeviceRejectionCode,
  redact,
} from './errors';
export { classifyImport, type DeviceImportOutcome } from './import-outcome';
export {
  createDrain,
  type Drain,
  type DrainEvent,
  type DrainOptions,
  type DrainReport,
} from './outbox-drain';
export { type ReleasedFirmwareStatus, releasedFirmwareCheck, releasedFirmwareDetail } from './readiness';
export { createRegistrar, type RegistrarOptions } from './register-step';
export {
  type CloudWait,
  DEFAULT_CLOUD_WAIT_MS,
  describeGaveUp,
  type GaveUp,
  gaveUp,
  type RetryTransientOptions,
  retryTransient,
} from './retry-transient';
export type { DeviceUnprotectProof, ServerUnprotectProof } from './schemas';
export { DEFAULT_TOKEN_ENV, envTokenProvider, isEnvVarName } from './token';
