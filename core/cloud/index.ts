// The cloud part of the core: what the station, the CLI and the desktop app call.
export { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff';
export {
  type CloudClient,
  type CloudClientOptions,
  type CloudResult,
  createCloudClient,
  type ErrorSaid,
  type ImportOptions,
  PARTICLE_API_URL,
  type TokenProvider,
  unprotectError,
} from './client';
export {
  type CloudSetup,
  type CloudSetupErrorCode,
  type CloudSetupOptions,
  DEVICE_NAME,
  type DeviceFacts,
  registrationRequestFor,
  renderTemplate,
  resolveCloudSetup,
  type SkippedSetup,
  shipmentDay,
  TEMPLATE_FIELDS,
  type TemplateField,
  unknownTemplateFields,
} from './cloud-setup';
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
  type SettledDevice,
} from './outbox-drain';
export { dateGroupName, pickDateGroup } from './outbox-groups';
export {
  createRateLimiter,
  PARTICLE_RATE_BUDGET,
  type RateBudget,
  type RateLimiter,
  stationShare,
} from './rate-budget';
export { type ReleasedFirmwareStatus, releasedFirmwareCheck, releasedFirmwareDetail } from './readiness';
export {
  createRegistrar,
  type RegisteredIdentity,
  type RegisterOutcome,
  type RegistrarOptions,
} from './register-step';
export {
  type CloudWait,
  DEFAULT_CLOUD_WAIT_MS,
  describeGaveUp,
  type GaveUp,
  gaveUp,
  type RetryTransientOptions,
  retryTransient,
} from './retry-transient';
export type { DeviceSettings, DeviceUnprotectProof, ServerUnprotectProof } from './schemas';
export { type CloudSetupClient, GROUP_NAME, type GroupInfo, type NewGroup } from './setup-client';
export { DEFAULT_TOKEN_ENV, envTokenProvider, isEnvVarName } from './token';
