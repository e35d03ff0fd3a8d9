import { describeGaveUp, gaveUp } from '../cloud/retry-transient';
import { err, type LsError, ok, type Result } from '../errors/result';
import type { Acceptance, BatchRecord, FirmwareHash, NewBatch } from '../store/records';
import type { StationLog } from '../store/station-log';
import type { LoadedProfile } from './profile';
import type { ReadinessReport } from './readiness';

export type BatchStartErrorCode =
  | 'LOT_INVALID'
  | 'PROFILE_NOT_LOCKED'
  | 'PROFILE_TAMPERED'
  | 'FIRMWARE_CHANGED'
  | 'NOT_READY'
  | 'TOKEN_NOT_VALID'
  | 'CLOUD_UNREACHABLE'
  | 'MODE_NOT_ANSWERED'
  | 'BATCH_CLOSED'
  | 'BATCH_PROFILE_MISMATCH';

/** Cloud errors that mean nobody answered (or not usefully), as opposed to a refused token. */
const UNANSWERED: ReadonlySet<string> = new Set([
  'CLOUD_NETWORK',
  'CLOUD_TIMEOUT',
  'CLOUD_SERVER_ERROR',
  'CLOUD_RATE_LIMITED',
  'CLOUD_BAD_RESPONSE',
]);

/**
 * Readiness items an engineer may accept to start anyway. The lock, the firmware files and the
 * platform/product match are never acceptable: accepting them would flash unsigned or wrong
 * firmware. `registration` is accepted only as offline mode.
 */
export const ACCEPTABLE_ITEMS: ReadonlySet<string> = new Set(['firmware-set', 'questions']);

export interface BatchStartRequest {
  readonly loaded: LoadedProfile;
  readonly report: ReadinessReport;
  readonly lot: string;
  readonly operator: string;
  readonly station: string;
  readonly targetCount?: number | undefined;
  /** Register later: IDs go to the outbox. Needs an acceptance of item `offline` unless the profile is offline. */
  readonly offline: boolean;
  /** Engineer acceptances of open items (by readiness item id, or `offline`). */
  readonly acceptances: readonly Acceptance[];
  /** Optional live check of the cloud token (401/403 mean not valid). */
  readonly tokenCheck?: (() => Promise<Result<void>>) | undefined;
  /**
   * Why the OTA released-firmware check got no answer (transient failures until its wait ran
   * out). Refused as CLOUD_UNREACHABLE, the real cause, instead of an unknown readiness item.
   */
  readonly releasedFirmwareUnanswered?: LsError | undefined;
}

export interface OpenedBatch {
  readonly batch: BatchRecord;
  /** True when an unfinished batch with this lot was picked up again (after a stop or a crash). */
  readonly resumed: boolean;
}

const LOT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const accepted = (req: BatchStartRequest, item: string): boolean =>
  req.acceptances.some((a) => a.item === item);

/** CLOUD_UNREACHABLE for a start-up check that got no answer: how long the station tried, and the way out. */
const unreachable = (what: string, cause: LsError, offlineAccepts: string) => {
  const tried = gaveUp(cause);
  return err(
    'CLOUD_UNREACHABLE',
    `${what} could not be checked: ${cause.message}${tried ? ` ${describeGaveUp(tried)}` : ''}`,
    {
      remedy: `Check the network and the profile's cloud address, then start again; or have an engineer accept offline mode (${offlineAccepts}) so registrations queue until the cloud answers.`,
      details: { cause: cause.code, ...(tried ? { tries: tried.tries, waitedMs: tried.waitedMs } : {}) },
    },
  );
};

/**
 * Decides whether a batch may start, and with which recorded facts. A batch starts only when
 * the profile is locked and untampered, every readiness item is ok or was accepted by an
 * engineer (the acceptance is recorded with the batch), and the token is valid or offline mode
 * was accepted.
 */
export const evaluateStart = async (
  req: BatchStartRequest,
): Promise<Result<NewBatch, BatchStartErrorCode>> => {
  if (!LOT.test(req.lot))
    return err('LOT_INVALID', `"${req.lot}" is not a usable lot ID.`, {
      remedy: 'Use letters, digits, dots, dashes or underscores (up to 64 characters).',
    });
  const { profile } = req.loaded;
  const items = new Map(req.report.readiness.items.map((i) => [i.id, i]));
  const files = items.get('firmware-files');
  if (files && !files.ok && /TAMPERED/.test(files.message))
    return err('FIRMWARE_CHANGED', files.message, {
      remedy: files.remedy,
      details: { items: files.details },
    });
  const locked = items.get('locked');
  if (!profile.lock || !locked)
    return err(
      'PROFILE_NOT_LOCKED',
      'The profile is not locked, so what would be flashed is not signed off.',
      {
        remedy: 'Have an engineer lock it with "linestation profile lock".',
      },
    );
  if (!locked.ok)
    return err('PROFILE_TAMPERED', locked.message, {
      remedy: locked.remedy,
      details: { items: locked.details },
    });
  if (!profile.provisioningMode)
    return err(
      'MODE_NOT_ANSWERED',
      'The profile does not say whether devices are flashed on the line or by OTA.',
      {
        remedy: 'Answer the programming mode in the profile and lock it again.',
      },
    );

  const profileOffline = profile.registration?.mode === 'offline';
  const offline = req.offline || profileOffline;
  const cloudDown = offline || accepted(req, 'firmware-set') ? undefined : req.releasedFirmwareUnanswered;
  const open: LsError[] = [];
  for (const i of req.report.readiness.items) {
    if (i.ok || i.id === 'locked') continue;
    // Unknown only because the cloud never answered: refused below with that cause.
    if (i.id === 'firmware-set' && cloudDown) continue;
    if (i.id === 'registration') {
      if (offline && (profileOffline || accepted(req, 'offline'))) continue;
      open.push({
        code: 'TOKEN_NOT_VALID',
        message: i.message,
        remedy: 'Set the token, or have an engineer accept offline mode (--offline --accept offline).',
      });
      continue;
    }
    if (ACCEPTABLE_ITEMS.has(i.id) && accepted(req, i.id)) continue;
    open.push({
      code: 'NOT_READY',
      message: `${i.title}: ${i.message}`,
      remedy: ACCEPTABLE_ITEMS.has(i.id)
        ? `${i.remedy ?? 'Resolve it'}; or an engineer accepts it (--accept ${i.id}).`
        : (i.remedy ?? 'Resolve it and lock the profile again.'),
    });
  }
  if (open.length > 0) {
    const first = open[0] as LsError;
    const code = first.code === 'TOKEN_NOT_VALID' ? 'TOKEN_NOT_VALID' : 'NOT_READY';
    return err(
      code,
      open.length === 1 ? first.message : `${open.length} readiness items are open; first: ${first.message}`,
      {
        remedy: first.remedy,
        details: { open: open.map((o) => o.message) },
      },
    );
  }
  if (offline && !profileOffline && !accepted(req, 'offline'))
    return err('TOKEN_NOT_VALID', 'Offline mode was asked for but no engineer accepted it.', {
      remedy: 'Have an engineer accept offline mode (--accept offline).',
    });
  if (cloudDown)
    return unreachable(
      "The product's released firmware",
      cloudDown,
      '--offline --accept offline --accept firmware-set',
    );
  if (!offline && req.tokenCheck) {
    const t = await req.tokenCheck();
    // No answer is not a refusal: telling the operator to renew a good token sends them the
    // wrong way when the network, the API URL or the cloud itself is the problem.
    if (!t.ok && UNANSWERED.has(t.error.code))
      return unreachable('The token', t.error, '--offline --accept offline');
    if (!t.ok)
      return err('TOKEN_NOT_VALID', `The cloud refused the token: ${t.error.message}`, {
        remedy: 'Renew the token, or have an engineer accept offline mode (--offline --accept offline).',
        details: { cause: t.error.code },
      });
  }

  const firmware: FirmwareHash[] = req.report.integrity.files.map((f) => ({
    name: f.path,
    sha256: f.actual ?? f.pinned ?? '',
  }));
  return ok({
    lot: req.lot,
    product: String(profile.product.id),
    platform: profile.platform,
    profileName: profile.product.name,
    profileHash: profile.lock.profileHash,
    mode: profile.provisioningMode,
    firmware,
    operator: req.operator,
    station: req.station,
    targetCount: req.targetCount ?? null,
    offline,
    acceptances: req.acceptances,
  });
};

/**
 * Starts the batch, or picks up an unfinished one with the same lot and profile (after a stop or
 * a crash). A closed batch is read-only; a lot started under another profile is refused.
 */
export const openBatch = async (
  log: StationLog,
  req: BatchStartRequest,
): Promise<Result<OpenedBatch, BatchStartErrorCode>> => {
  const decided = await evaluateStart(req);
  if (!decided.ok) return decided;
  const existing = log.batch(req.lot);
  if (!existing) return ok({ batch: log.createBatch(decided.value), resumed: false });
  if (existing.state === 'closed')
    return err('BATCH_CLOSED', `Batch ${req.lot} is closed and read-only.`, {
      remedy: 'Start a new batch with a new lot ID.',
    });
  if (existing.profileHash !== decided.value.profileHash)
    return err(
      'BATCH_PROFILE_MISMATCH',
      `Batch ${req.lot} was started with profile ${existing.profileHash.slice(0, 12)}…, not ${decided.value.profileHash.slice(0, 12)}….`,
      { remedy: 'Use the profile the batch was started with, or a new lot ID.' },
    );
  const batch =
    existing.state === 'running'
      ? existing
      : log.setBatchState(existing.id, 'running', req.operator, { resumedBy: req.operator });
  log.recordAudit(req.operator, 'batch-continue', batch.id, { station: req.station });
  return ok({ batch, resumed: true });
};
