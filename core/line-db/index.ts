export {
  type ClaimHolder,
  claimDevice,
  DEFAULT_CLAIM_LEASE_MS,
  type DeviceClaim,
  releaseClaim,
} from './claims';
export {
  DEFAULT_LINE_DB_ENV,
  type LineDbTarget,
  lineDbTargetFromEnv,
  redactLineSecrets,
  redactUrl,
} from './config';
export { createLinePool, diagnoseConnectFailure } from './connection';
export {
  classifyLineError,
  isLineDbError,
  type LineDbError,
  type LineDbErrorCode,
  type LineWarningCode,
} from './errors';
export {
  createForwarder,
  DEFAULT_LINE_BACKOFF,
  type Forwarder,
  type ForwarderEvent,
  type ForwarderOptions,
  type LineNotice,
  type LineStation,
} from './forwarder';
export { type HistoryQuery, lookupUnitHistory, type UnitHistory } from './history';
export {
  createLineCheck,
  DEFAULT_LINE_CHECK_TIMEOUT_MS,
  describeHistory,
  duplicateDeviceError,
} from './line-check';
export { type LineLink, type LineLinkOptions, type LineTuning, openLineLink } from './link';
export { probeServer, type ServerProbe } from './probe';
export { LINE_TABLES } from './rows';
export {
  LINE_MIGRATIONS,
  LINE_NOTIFY_CHANNEL,
  LINE_SCHEMA,
  type LineMigration,
  migrateLineDb,
} from './schema';
export { loadStationId, STATION_ID_FILE } from './station-identity';
export { type LineState, type LineStatus, lineStatusLine } from './status';
export { type LineDbCheckReport, testLineDb } from './test-connection';
