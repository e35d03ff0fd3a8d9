/** The shapes the durable batch log holds. Times are ISO-8601 UTC strings; durations are ms. */

export type ProvisioningMode = 'flash-on-line' | 'ota-on-setup';
export type BatchState = 'running' | 'paused' | 'closed';
/**
 * `skipped`: the device already has a PASS in this batch and the profile does not re-flash it;
 * it is reported "already provisioned" and is not counted as a new pass.
 */
export type AttemptResult = 'running' | 'pass' | 'fail' | 'interrupted' | 'skipped';
/**
 * Registration outcome as the station saw it when the attempt ended. `sim-failed`: the device is
 * in the product (a PASS), but the cloud refused its SIM, so it cannot connect yet (docs/cloud.md).
 */
export type RegistrationState = 'registered' | 'queued' | 'sim-failed' | 'failed' | 'not-attempted';

/**
 * The steps of one slot's pipeline, in order (ota-on-setup runs only identify and register).
 * `service-mode` lifts Device Protection for a while (and puts it back), `normal-update` writes
 * the modules Device OS takes only in normal mode (bootloader, NCP, assets); `setup-done` marks a
 * Gen 3 device on Device OS < 4 as set up.
 */
export const STEPS = [
  'identify',
  'service-mode',
  'normal-update',
  'ensure-dfu',
  'flash',
  'leave',
  'confirm',
  'setup-done',
  'register',
] as const;
export type StepName = (typeof STEPS)[number];

/** Column holding each step's duration. */
export const STEP_COLUMN: Readonly<Record<StepName, string>> = {
  identify: 'identify_ms',
  'service-mode': 'service_mode_ms',
  'normal-update': 'normal_update_ms',
  'ensure-dfu': 'ensure_dfu_ms',
  flash: 'flash_ms',
  leave: 'leave_ms',
  confirm: 'confirm_ms',
  'setup-done': 'setup_done_ms',
  register: 'register_ms',
};

import type { ModuleStep, SetupDoneState } from '../install/types';

export type { ModuleStep, SetupDoneState };

export interface FirmwareHash {
  /** File name (or module label) as it appears in the profile. */
  readonly name: string;
  readonly sha256: string;
}

/** An engineer's recorded decision to start despite an open readiness item or missing token. */
export interface Acceptance {
  readonly item: string;
  readonly by: string;
  readonly at: string;
  readonly note?: string | undefined;
}

export interface NewBatch {
  readonly lot: string;
  readonly product: string;
  readonly platform: string;
  readonly profileName: string;
  readonly profileHash: string;
  readonly mode: ProvisioningMode;
  readonly firmware: readonly FirmwareHash[];
  readonly operator: string;
  readonly station: string;
  readonly targetCount?: number | null | undefined;
  readonly offline: boolean;
  readonly acceptances: readonly Acceptance[];
}

export interface BatchRecord extends NewBatch {
  readonly id: number;
  readonly targetCount: number | null;
  readonly state: BatchState;
  readonly startedAt: string;
  readonly endedAt: string | null;
}

export interface NewAttempt {
  readonly batchId: number;
  readonly slot: number;
  readonly portPath: string;
  /** The USB serial seen at plug-in, if any; confirmed (or corrected) by identify. */
  readonly deviceId?: string | null | undefined;
  readonly labelSerial?: string | null | undefined;
}

export interface AttemptRecord {
  readonly id: number;
  readonly batchId: number;
  readonly deviceId: string | null;
  readonly platform: string | null;
  readonly slot: number;
  readonly portPath: string;
  readonly labelSerial: string | null;
  readonly tryNumber: number;
  readonly result: AttemptResult;
  /** The step running now, or the step that failed, or the last step of a PASS. */
  readonly step: StepName | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly errorRemedy: string | null;
  readonly alreadyProvisioned: boolean;
  readonly moduleVersions: readonly number[] | null;
  readonly registrationState: RegistrationState | null;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
  readonly stepMs: Readonly<Partial<Record<StepName, number>>>;
  readonly moduleSteps: readonly ModuleStep[];
  readonly setupDone: SetupDoneState | null;
  /** The line-database check at identify ('ok', 'skipped: unreachable', ...); null without a line database. */
  readonly lineCheck: string | null;
  /** The sticker serial number read over USB; null when it could not be read (an event says why). */
  readonly serialNumber: string | null;
  /** Cellular platforms: the SIM's ICCID and the modem's IMEI, as identify read them. */
  readonly iccid: string | null;
  readonly imei: string | null;
  /** The Device OS the device reported when its identity was read ('6.2.1', or a module version '6201'). */
  readonly deviceOs: string | null;
}

/** A field identify could not read, and why (kept as the attempt's 'identity-incomplete' event). */
export interface IdentityGap {
  readonly field: string;
  /** not-supported, not-programmed, no-sim, modem-unavailable, protected, dfu-mode, failed … */
  readonly cause: string;
  readonly code: string;
  readonly reason: string;
}

/** What identify read besides the device ID and platform. */
export interface IdentityDetails {
  readonly serialNumber?: string | undefined;
  readonly iccid?: string | undefined;
  readonly imei?: string | undefined;
  readonly deviceOs?: string | undefined;
  /** What could not be read: logged as an event, the columns stay empty. */
  readonly missing?: readonly IdentityGap[] | undefined;
}

export interface AttemptOutcome {
  readonly result: 'pass' | 'fail' | 'interrupted' | 'skipped';
  readonly step?: StepName | null | undefined;
  readonly error?: { code: string; message: string; remedy?: string | undefined } | undefined;
  readonly registrationState?: RegistrationState | undefined;
  readonly alreadyProvisioned?: boolean | undefined;
}

export interface EventRecord {
  readonly id: number;
  readonly batchId: number | null;
  readonly attemptId: number | null;
  readonly at: string;
  readonly type: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface AuditRecord {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly batchId: number | null;
  readonly details: Readonly<Record<string, unknown>>;
}
