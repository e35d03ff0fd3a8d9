import type { BackoffPolicy } from '../cloud/backoff';
import { createCloudClient } from '../cloud/client';
import { resolveCloudSetup } from '../cloud/cloud-setup';
import { createDrain, type Drain } from '../cloud/outbox-drain';
import { createRateLimiter, type RateLimiter, stationShare } from '../cloud/rate-budget';
import { createRegistrar } from '../cloud/register-step';
import {
  type CloudWait,
  DEFAULT_CLOUD_WAIT_MS,
  type RetryTransientOptions,
  retryTransient,
} from '../cloud/retry-transient';
import { envTokenProvider } from '../cloud/token';
import { err, type LsError, ok, type Result, toLsError } from '../errors/result';
import { planSet } from '../firmware/plan-set';
import type { InspectedFile, PlanTarget, SetPlan } from '../firmware/types';
import { type LineLink, type LineTuning, openLineLink } from '../line-db/link';
import type { SerialLinkOpener } from '../particle/listening-serial';
import { platformByName } from '../platforms/lookup';
import { resolveDataDir } from '../store/data-dir';
import type { Acceptance, BatchRecord, StepName } from '../store/records';
import { acquireStationLock, type LockHolder, takeoverNotice } from '../store/station-lock';
import { StationLog } from '../store/station-log';
import type { SerialPortLister } from '../usb/serial-ports';
import type { UsbTransport } from '../usb/transport';
import { openBatch } from './batch';
import { createStationLabels, type StationLabels } from './labels';
import { particleDriver } from './particle-driver';
import { type LoadedProfile, loadProfile } from './profile';
import { checkReadiness } from './readiness';
import { cloudReleasedFirmwareDetail } from './readiness-cloud';
import { Station, type StationPolicy } from './station';

export interface SessionOptions {
  readonly profilePath: string;
  readonly lot: string;
  readonly operator: string;
  readonly station: string;
  readonly dataDir?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly targetCount?: number | undefined;
  readonly offline: boolean;
  readonly acceptances: readonly Acceptance[];
  readonly transport: UsbTransport;
  /** Simulated devices must never be imported into a real product: only a loopback cloud is allowed. */
  readonly simulated: boolean;
  readonly pollMs?: number | undefined;
  readonly reenumerationTimeoutMs?: number | undefined;
  readonly timeoutsMs?: Partial<Record<StepName, number>> | undefined;
  /** How long the register step waits for the cloud's acknowledgment before reporting "queued". */
  readonly registerWaitMs?: number | undefined;
  readonly retryDelayMs?: number | undefined;
  /**
   * How long each start-up cloud check (token and product; released firmware for OTA on setup)
   * waits out transient answers (429, 5xx, timeouts, dropped connections) before the start is
   * refused as CLOUD_UNREACHABLE. Default 30 s; 0 asks once.
   */
  readonly cloudWaitMs?: number | undefined;
  /**
   * The backoff between those retries and between the registration outbox's (default: the
   * outbox's own, 1-2 s growing to 5 min); tests and benchmarks scale it down.
   */
  readonly cloudBackoff?: BackoffPolicy | undefined;
  /** Told before each such wait, for the operator ("waiting for the Particle Cloud (429, retry in 1 s)"). */
  readonly onCloudWait?: ((wait: CloudWait) => void) | undefined;
  /**
   * Slot labels set at this station (by port path). They describe the station's own hub, so they
   * take precedence over the profile's labels for the same port.
   */
  readonly slotLabels?: Readonly<Record<string, string>> | undefined;
  /** What the lock records as holding the data folder (default: this process's command line). */
  readonly command?: string | undefined;
  /**
   * The environment variable holding the line database's URL (default LINESTATION_LINE_DB; the
   * station settings may name another). Unset variable: no line database (docs/line.md).
   */
  readonly lineDbEnv?: string | undefined;
  /** Line database timings (tests and benchmarks shorten them). */
  readonly lineTuning?: LineTuning | undefined;
  /** Between tries of a label while the printer is not ready (default 1 s doubling to 30 s). */
  readonly labelBackoff?: BackoffPolicy | undefined;
  /**
   * How many stations of the line leave through this station's public IP address (default 1):
   * the station spaces its cloud requests to its share of Particle's 10,000 per 5 minutes.
   */
  readonly stationsSharingIp?: number | undefined;
  /**
   * The station's one rate limiter, when the caller already holds it (the app keeps one across
   * batches); default: a new one for `stationsSharingIp`.
   */
  readonly rateLimiter?: RateLimiter | undefined;
  /** IANA time zone of the shipment's date group and `{date}` (default: the station's own). */
  readonly timeZone?: string | undefined;
  /**
   * The listening-mode fallback of identify (the Electron's ICCID): lists serial ports, and opens
   * one (default: the serialport package). Without a lister, identify asks control requests only.
   */
  readonly serialPorts?: SerialPortLister | undefined;
  readonly openSerial?: SerialLinkOpener | undefined;
}

export interface Session {
  readonly loaded: LoadedProfile;
  readonly log: StationLog;
  readonly batch: BatchRecord;
  readonly resumed: boolean;
  /** Attempts found running from a previous process and marked interrupted. */
  readonly recovered: number;
  /** The previous holder of the data folder, when it died without releasing it (its lock was taken over). */
  readonly tookOverFrom: LockHolder | undefined;
  /** The locked set's install plan for a device that says nothing about itself (in normal mode). */
  readonly plan: SetPlan;
  readonly policy: StationPolicy;
  readonly station: Station;
  readonly drain: Drain | undefined;
  /** Forwarding to the line database and the check at identify; undefined without one. */
  readonly line: LineLink | undefined;
  /** The label queue and its print loop, when the profile has a `label` template. */
  readonly labels: StationLabels | undefined;
  readonly dataDir: string;
  /** Stops the station and the drain (flushing the outbox for up to `flushMs`), closes the log. */
  close(options?: { flushMs?: number }): Promise<void>;
}

const isLoopback = (url: string): boolean => {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
};

/**
 * Everything `run`, the demo and the benchmarks share: load the profile, check readiness, open
 * the log (recovering interrupted attempts), open or resume the batch, plan the firmware, and
 * wire the station to the real driver and the registration outbox. Any refusal comes back as a
 * named error before a device is touched.
 */
export const openSession = async (o: SessionOptions): Promise<Result<Session>> => {
  const loadedR = await loadProfile(o.profilePath);
  if (!loadedR.ok) return loadedR;
  const loaded = loadedR.value;
  const p = loaded.profile;
  const platform = platformByName(p.platform);
  if (!platform) return err('PROFILE_INVALID', `Unknown platform "${p.platform}" in the profile.`);
  const reg = p.registration;
  const offline = o.offline || reg?.mode !== 'cloud';
  if (o.simulated && reg?.mode === 'cloud' && !offline && !isLoopback(reg.apiBaseUrl))
    return err(
      'SIMULATED_REAL_CLOUD',
      `Simulated devices would be imported into the real product through ${reg.apiBaseUrl}.`,
      {
        remedy:
          'Simulate with --offline, or point the profile at a local mock cloud (linestation mock-cloud).',
      },
    );

  // One transient answer must not stop a line: the start-up checks wait it out, within a bound.
  const cloudRetry: RetryTransientOptions = {
    limitMs: o.cloudWaitMs ?? DEFAULT_CLOUD_WAIT_MS,
    ...(o.cloudBackoff ? { backoff: o.cloudBackoff } : {}),
    ...(o.onCloudWait ? { onWait: o.onCloudWait } : {}),
  };
  // OTA on setup needs a released default firmware: ask the product's cloud when we can. An
  // unlocked profile is refused anyway, so it is asked once rather than waited for.
  // One limiter for every request of this station: the line shares one public IP's budget.
  const rateLimiter = o.rateLimiter ?? createRateLimiter(stationShare(o.stationsSharingIp ?? 1));
  const releasedCheck = offline
    ? undefined
    : cloudReleasedFirmwareDetail(p, o.env, { rateLimiter, ...(p.lock ? { retry: cloudRetry } : {}) });
  let releasedUnanswered: LsError | undefined;
  const report = await checkReadiness(loaded, {
    env: o.env,
    ...(releasedCheck
      ? {
          releasedFirmwareCheck: async () => {
            const d = await releasedCheck();
            if (d.status === 'unknown' && d.error?.kind === 'backoff') releasedUnanswered = d.error;
            return d.status;
          },
        }
      : {}),
  });
  const client =
    reg?.mode === 'cloud' && !offline
      ? createCloudClient({
          baseUrl: reg.apiBaseUrl,
          token: envTokenProvider(o.env, reg.tokenEnv),
          rateLimiter,
        })
      : undefined;

  // Cloud setup for every profile (it also gives cellular products their SIM import): refused
  // here, before a device is touched, when the profile asks for what its firmware cannot give.
  const userPart = report.files.map((f) => f.inspected?.module).find((m) => m?.function === 'user');
  // 0xFFFF (or -1 for a short suffix) marks a build without a product version.
  const productVersion =
    userPart && userPart.productVersion >= 0 && userPart.productVersion !== 0xffff
      ? userPart.productVersion
      : undefined;
  const setup = resolveCloudSetup({
    setup: reg?.setup,
    cellular: platform.cellular,
    development: p.development,
    groups: p.groups,
    productFirmwareVersion: productVersion,
  });
  if (!setup.ok) return { ok: false, error: setup.error };

  const dataDir = resolveDataDir(o.dataDir, o.env);
  // One station per data folder: taken before the log is opened, because opening it as a station
  // marks attempts left running as interrupted, which is right only when no one else runs them.
  const locked = acquireStationLock(dataDir, { purpose: 'station', command: o.command });
  if (!locked.ok) return locked;
  const lock = locked.value;
  let log: StationLog;
  let recovered: number;
  try {
    ({ log, recovered } = StationLog.open(dataDir, { recover: true }));
  } catch (e) {
    lock.release();
    return { ok: false, error: toLsError(e, 'STORE_OPEN_FAILED') };
  }
  const fail = (e: LsError): Result<Session> => {
    log.close();
    lock.release();
    return { ok: false, error: e };
  };
  if (lock.tookOverFrom) {
    try {
      log.recordAudit('station', 'station-lock-takeover', null, {
        message: takeoverNotice(lock.tookOverFrom),
        previous: lock.tookOverFrom,
        holder: lock.holder,
      });
    } catch (e) {
      return fail(toLsError(e, 'STORE_OPEN_FAILED'));
    }
  }

  let opened: Awaited<ReturnType<typeof openBatch>>;
  try {
    opened = await openBatch(log, {
      loaded,
      report,
      lot: o.lot,
      operator: o.operator,
      station: o.station,
      targetCount: o.targetCount,
      offline,
      acceptances: o.acceptances,
      releasedFirmwareUnanswered: releasedUnanswered,
      tokenCheck: client
        ? async () => {
            const r = await retryTransient(
              (signal) => client.checkToken(String(p.product.id), signal ? { signal } : {}),
              cloudRetry,
            );
            return r.ok ? ok(undefined) : { ok: false, error: r.error };
          }
        : undefined,
    });
  } catch (e) {
    return fail(toLsError(e));
  }
  if (!opened.ok) return fail(opened.error);

  const mode = p.provisioningMode ?? 'flash-on-line';
  const files = report.files.map((f) => f.inspected).filter((f): f is InspectedFile => f !== undefined);
  const product: PlanTarget = {
    platformId: platform.id,
    productId: p.product.id,
    mode,
    ...(p.deviceOsVersion ? { deviceOsVersion: p.deviceOsVersion } : {}),
    deviceProtection: p.deviceProtection === true,
  };
  // The whole set, as every device gets it unless it says otherwise at identify (what it runs,
  // DFU mode): refused here, before a device is touched, when it cannot be installed at all.
  const plan = planSet(files, product);
  const first = plan.errors[0];
  if (first)
    return fail({ ...first, message: `The locked firmware set cannot be installed: ${first.message}` });

  // The line database never stops the station: an unusable one is reported by the link's status.
  const lineR = openLineLink({
    db: log.db,
    dataDir,
    env: o.env,
    envName: o.lineDbEnv,
    stationName: o.station,
    tuning: o.lineTuning,
  });
  if (!lineR.ok) return fail(lineR.error);
  const line = lineR.value;

  const policy: StationPolicy = {
    slotCount: p.slots.count,
    labels: { ...p.slots.labels, ...o.slotLabels },
    platformId: platform.id,
    productId: p.product.id,
    maxAttempts: p.retry.maxAttempts,
    retryOn: p.retry.retryOn,
    reflashAlreadyProvisioned: p.station.reflashAlreadyProvisioned,
    ...(line ? { lineCheck: line.lineCheck } : {}),
  };
  // Labels print for the session's lifetime; the loop starts now so labels a previous run left
  // pending print even before the first device passes.
  const labels = p.label
    ? createStationLabels({
        log,
        batchId: opened.value.batch.id,
        template: p.label,
        facts: {
          productName: p.product.name,
          productVersion,
          lot: opened.value.batch.lot,
          station: o.station,
        },
        backoff: o.labelBackoff,
      })
    : undefined;
  const drain = client
    ? createDrain({
        db: log.db,
        client,
        productId: String(p.product.id),
        idlePollMs: 1000,
        ...(o.cloudBackoff ? { backoff: o.cloudBackoff } : {}),
      })
    : undefined;
  const station = new Station({
    log,
    batch: opened.value.batch,
    source: o.transport,
    policy,
    timeoutsMs: o.timeoutsMs,
    retryDelayMs: o.retryDelayMs,
    onPass: labels?.onPass,
    driverFor: particleDriver({
      transport: o.transport,
      files,
      product,
      skipWhenCurrent: p.station.skipWhenCurrent === true,
      setupDone: true,
      ...(p.deviceProtection && client ? { serviceMode: { cloud: client, productId: p.product.id } } : {}),
      verify: p.verification.readback,
      pollMs: o.pollMs,
      reenumerationTimeoutMs: o.reenumerationTimeoutMs,
      identity: p.identity,
      serialPorts: o.serialPorts,
      openSerial: o.openSerial,
      registrar: createRegistrar({
        db: log.db,
        ...(drain ? { drain } : {}),
        productId: p.product.id,
        setup: setup.value,
        line: {
          product: p.product.slug ?? String(p.product.id),
          platform: p.platform,
          lot: opened.value.batch.lot,
          station: o.station,
          ...(o.timeZone ? { timeZone: o.timeZone } : {}),
        },
        waitMs: drain ? (o.registerWaitMs ?? 0) : 0,
      }),
    }),
  });
  labels?.subscribe((e) => {
    if (e.change === 'error') station.labelError(e.message);
    else station.labelChanged(e);
  });
  drain?.start();
  line?.start();
  labels?.start();

  return ok({
    loaded,
    log,
    batch: opened.value.batch,
    resumed: opened.value.resumed,
    recovered,
    tookOverFrom: lock.tookOverFrom,
    plan,
    policy,
    station,
    drain,
    line,
    labels,
    dataDir,
    async close(options = {}) {
      try {
        await station.stop();
        if (labels) {
          // The last PASS's label gets the same chance to print as its registration to be sent.
          if (options.flushMs)
            await labels
              .printNow(AbortSignal.timeout(Math.min(options.flushMs, 10_000)))
              .catch(() => undefined);
          await labels.stop();
        }
        if (drain) {
          if (options.flushMs) await drain.drainNow({ deadlineMs: options.flushMs }).catch(() => undefined);
          await drain.stop();
        }
        await line?.close({ flushMs: Math.min(options.flushMs ?? 0, 3000) });
        log.close();
      } finally {
        // Last, so no second station starts while this one still writes.
        lock.release();
      }
    },
  });
};
