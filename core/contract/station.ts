import { z } from 'zod';
import { LABEL_JOB_STATES, slotLabelSchema, stationLabelsSchema } from './labels';

/*
 * What the shells see of the running line: slots, batches, attempts, statistics, the outbox and
 * the audit log. Plain serialisable views; optional fields are left out rather than null where
 * the core has nothing to say, so the renderer can test with `!== undefined` only.
 */

export const SLOT_STATES = ['empty', 'running', 'passed', 'failed', 'skipped', 'interrupted'] as const;

export const slotViewSchema = z.object({
  slot: z.int(),
  label: z.string(),
  portPath: z.string().optional(),
  state: z.enum(SLOT_STATES),
  deviceId: z.string().optional(),
  /** The sticker serial number identify read (shown under the device ID). */
  serialNumber: z.string().optional(),
  /** Cellular platforms: the SIM's ICCID identify read. */
  iccid: z.string().optional(),
  /** The pipeline step running now (or the one that failed). */
  step: z.string().optional(),
  percent: z.number().optional(),
  /** What the step does now, e.g. `bootloader.bin (normal mode): applying`. */
  activity: z.string().optional(),
  /** The module being installed and its path. */
  module: z.string().optional(),
  path: z.enum(['normal', 'dfu']).optional(),
  /** What the current part usually takes when it has no bytes to count (NCP applying: minutes). */
  expectedMs: z.number().optional(),
  bytesPerSecond: z.number().optional(),
  etaMs: z.number().optional(),
  /** Plain-words reason and remedy of a FAIL or an interruption. */
  error: z
    .object({ code: z.string(), title: z.string(), remedy: z.string(), message: z.string() })
    .optional(),
  /** The label serial paired with this slot's PASS, if one was scanned. */
  labelSerial: z.string().optional(),
  /** The PASS's printed label, when the profile prints labels: pending, printed, scanned back. */
  deviceLabel: slotLabelSchema.optional(),
  /** A PASS an engineer must look at: the cloud refused its SIM (registration 'sim-failed'). */
  warning: z
    .object({ code: z.string(), title: z.string(), remedy: z.string(), message: z.string() })
    .optional(),
});
export type SlotView = z.infer<typeof slotViewSchema>;

export const batchSummarySchema = z.object({
  id: z.int(),
  lot: z.string(),
  product: z.string(),
  productName: z.string(),
  platform: z.string(),
  mode: z.enum(['flash-on-line', 'ota-on-setup']),
  operator: z.string(),
  station: z.string(),
  state: z.enum(['running', 'paused', 'closed']),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  targetCount: z.int().nullable(),
  profileHash: z.string(),
  firmware: z.array(z.object({ name: z.string(), sha256: z.string() })),
  attempts: z.int(),
  passed: z.int(),
  failed: z.int(),
  devices: z.int(),
  /** Distinct devices passed / distinct devices seen, 0..1. */
  yield: z.number(),
  devicesPerHour: z.number(),
});
export type BatchSummary = z.infer<typeof batchSummarySchema>;

export const logLineSchema = z.object({
  seq: z.int(),
  at: z.string(),
  level: z.enum(['info', 'pass', 'fail', 'warn']),
  text: z.string(),
  slot: z.int().optional(),
});
export type LogLine = z.infer<typeof logLineSchema>;

export const stationStateSchema = z.object({
  stationName: z.string(),
  /** True while a batch is open on this station and devices start on plug-in. */
  running: z.boolean(),
  batch: batchSummarySchema.nullable(),
  slots: z.array(slotViewSchema),
  /** Scanned label serials waiting for the next PASS, oldest first. */
  pendingLabels: z.array(z.string()),
  /** The newest lines of the live event log, oldest first. */
  log: z.array(logLineSchema),
  /** Why the last batch stopped on its own (target reached, a store failure), if it did. */
  notice: z.string().optional(),
  /** The line database's status line while a batch runs with one ('line database: connected'). */
  lineDatabase: z.string().optional(),
  /** The label printer and its queue while a batch runs with a label template. */
  labels: stationLabelsSchema.optional(),
});
export type StationState = z.infer<typeof stationStateSchema>;

export const attemptRowSchema = z.object({
  id: z.int(),
  deviceId: z.string().nullable(),
  slot: z.int(),
  portPath: z.string(),
  labelSerial: z.string().nullable(),
  tryNumber: z.int(),
  result: z.enum(['running', 'pass', 'fail', 'interrupted', 'skipped']),
  step: z.string().nullable(),
  errorCode: z.string().nullable(),
  errorMessage: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  /** A PASS's registration as the outbox holds it now: registered, queued, sim-failed, failed, blocked. */
  registrationState: z.string().nullable(),
  /** What identify read (null where the device could not tell). */
  serialNumber: z.string().nullable(),
  iccid: z.string().nullable(),
  imei: z.string().nullable(),
  deviceOs: z.string().nullable(),
  /** The newest label job's state, when the attempt has a label. */
  labelState: z.enum(LABEL_JOB_STATES).optional(),
  labelVerified: z.enum(['verified', 'mismatch']).optional(),
});
export type AttemptRow = z.infer<typeof attemptRowSchema>;

const percentilesSchema = z.object({
  count: z.int(),
  p50: z.number(),
  p90: z.number(),
  p95: z.number(),
  p99: z.number(),
  max: z.number(),
});

export const batchReportSchema = z.object({
  batch: batchSummarySchema,
  firstPassYield: z.number(),
  pareto: z.array(
    z.object({ code: z.string(), count: z.int(), percent: z.number(), cumulativePercent: z.number() }),
  ),
  stepMs: z.record(z.string(), percentilesSchema),
  /** Cumulative yield after each finished attempt, sampled to at most ~500 points for the chart. */
  yieldSeries: z.object({ t: z.array(z.number()), yieldPct: z.array(z.number()) }),
  /** Histogram of whole-attempt durations of PASSes (seconds), for the step-duration chart. */
  durationHistogram: z.object({
    binSeconds: z.number(),
    bins: z.array(z.number()),
    counts: z.array(z.int()),
  }),
});
export type BatchReport = z.infer<typeof batchReportSchema>;

export const outboxRowSchema = z.object({
  id: z.int(),
  productId: z.string(),
  deviceId: z.string(),
  action: z.string(),
  state: z.string(),
  attempts: z.int(),
  lastError: z.string().nullable(),
});

export const auditRowSchema = z.object({
  id: z.int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  batchId: z.int().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditRow = z.infer<typeof auditRowSchema>;

export const settingsViewSchema = z.object({
  stationName: z.string(),
  /** Operator labels by USB port path; they override the profile's labels on screen. */
  slotLabels: z.record(z.string(), z.string()),
  pinSet: z.boolean(),
  tokenStored: z.boolean(),
  tokenStorage: z.string(),
  /** The environment variable the line database URL is read from (default LINESTATION_LINE_DB). */
  lineDbEnv: z.string(),
  /** Stations of the line reaching the Particle Cloud through this station's public IP (default 1). */
  stationsSharingIp: z.int().min(1),
});
export type SettingsView = z.infer<typeof settingsViewSchema>;
