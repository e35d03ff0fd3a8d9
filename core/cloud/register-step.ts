import type { DatabaseSync } from 'node:sqlite';
import { fail } from '../errors/result';
import {
  enqueueRegistration,
  normalizeDeviceId,
  type RegistrationState,
  registrationState,
} from '../store/outbox';
import { type CloudSetup, type DeviceFacts, registrationRequestFor, type SkippedSetup } from './cloud-setup';
import { DEVICE_REJECTIONS, type DeviceRejectionCode } from './errors';
import type { Drain } from './outbox-drain';

export interface RegistrarOptions {
  readonly db: DatabaseSync;
  /** The station's running drain; without one (offline mode) devices are only queued. */
  readonly drain?: Drain;
  readonly productId: string | number;
  readonly development?: boolean;
  readonly groups?: readonly string[];
  /**
   * Cloud setup (cloud-setup.ts resolveCloudSetup): SIM import, name, notes, groups, date group,
   * firmware lock. When given, it replaces `development` and `groups`.
   */
  readonly setup?: CloudSetup;
  /** What the templates may use besides the device's own identity: product, platform, lot, station. */
  readonly line?: Pick<DeviceFacts, 'platform' | 'lot' | 'station' | 'timeZone'> & {
    /** The product's slug (default: its ID). */
    readonly product?: string | undefined;
  };
  /** The clock for the date group's day (tests pin it). */
  readonly now?: () => Date;
  /**
   * How long the register step waits for the cloud before calling the device queued. Short: a
   * slow cloud must not hold the line; the outbox finishes the job in the background.
   */
  readonly waitMs?: number;
}

/**
 * The station's register step: queue the device durably, give the drain a moment to get the
 * cloud's acknowledgement, and report 'registered' or 'queued'. A device the cloud rejects for
 * good (invalid, non-member, protected) fails the step with that code, because the operator must
 * set it aside. A configuration error (token, scope, product) leaves it queued: the drain has
 * stopped the product's registrations and said why, and nothing is lost meanwhile.
 */
/** What identify read, for the templates and the SIM (core/particle readIdentity). */
export interface RegisteredIdentity {
  readonly serialNumber?: string | undefined;
  readonly iccid?: string | undefined;
  readonly imei?: string | undefined;
}

export type RegisterOutcome =
  | { readonly state: 'registered' | 'queued'; readonly skipped: readonly SkippedSetup[] }
  /** In the product, but the cloud refused its SIM: the cloud's reason in code/message. */
  | {
      readonly state: 'sim-failed';
      readonly code: string;
      readonly message: string;
      readonly skipped: readonly SkippedSetup[];
    };

export const createRegistrar = (options: RegistrarOptions) => ({
  async register(
    deviceId: string,
    signal?: AbortSignal,
    identity: RegisteredIdentity = {},
  ): Promise<RegisterOutcome> {
    const id = normalizeDeviceId(deviceId);
    const productId = String(options.productId);
    const { drain } = options;
    // Subscribe before enqueueing so an acknowledgement cannot slip between the two.
    let pulse: () => void = () => undefined;
    const unsubscribe = drain?.subscribe((e) => {
      if (e.type !== 'error' && e.productId === productId) pulse();
    });
    let state: RegistrationState;
    let skipped: readonly SkippedSetup[] = [];
    try {
      if (options.setup) {
        const { product, ...line } = options.line ?? {};
        const planned = registrationRequestFor(options.setup, {
          ...line,
          product: product ?? productId,
          productId,
          deviceId: id,
          serialNumber: identity.serialNumber,
          iccid: identity.iccid,
          imei: identity.imei,
          at: options.now?.() ?? new Date(),
        });
        skipped = planned.skipped;
        enqueueRegistration(options.db, planned.request);
      } else
        enqueueRegistration(options.db, {
          productId,
          deviceId: id,
          ...(options.development === undefined ? {} : { development: options.development }),
          ...(options.groups === undefined ? {} : { groups: options.groups }),
        });
      drain?.wake();
      const deadline = Date.now() + (drain ? (options.waitMs ?? 10_000) : 0);
      for (;;) {
        // The store is the truth; events only say when to look again.
        state = registrationState(options.db, productId, id);
        if (state.state !== 'queued' || signal?.aborted || Date.now() >= deadline) break;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            pulse = () => undefined;
            resolve();
          };
          const timer = setTimeout(done, Math.max(0, deadline - Date.now()));
          signal?.addEventListener('abort', done, { once: true });
          pulse = done;
        });
      }
    } finally {
      unsubscribe?.();
    }
    if (state.state === 'registered') return { state: 'registered', skipped };
    if (state.state === 'sim-failed')
      return { state: 'sim-failed', code: state.code, message: state.message, skipped };
    if (state.state === 'failed') {
      const known = DEVICE_REJECTIONS[state.code as DeviceRejectionCode];
      return fail(state.code, known?.message ?? state.message, {
        ...(known ? { remedy: known.remedy } : {}),
        details: { deviceId: id, productId },
      });
    }
    return { state: 'queued', skipped };
  },
});
