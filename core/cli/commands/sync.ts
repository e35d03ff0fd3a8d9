import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { createCloudClient, PARTICLE_API_URL } from '../../cloud/client';
import { createDrain, type DrainReport } from '../../cloud/outbox-drain';
import { createRateLimiter, stationShare } from '../../cloud/rate-budget';
import { DEFAULT_TOKEN_ENV, envTokenProvider, isEnvVarName } from '../../cloud/token';
import type { LsError } from '../../errors/result';
import { loadProfile } from '../../station/profile';
import { databasePath, resolveDataDir } from '../../store/data-dir';
import { openDatabase } from '../../store/database';
import { outboxCounts } from '../../store/outbox';
import { acquireStationLock, takeoverNotice } from '../../store/station-lock';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import { atLeastOne } from '../options';
import type { RegisterCommand } from './index';

export interface SyncOptions {
  json?: boolean;
  dataDir?: string;
  profile?: string;
  apiUrl?: string;
  tokenEnv?: string;
  product?: string;
  deadline?: number;
  /** Stations of the line leaving through this public IP: the sync keeps to this station's share. */
  stationsSharingIp?: number;
}

/** Where to send and with which token variable: flags, else the profile, else the defaults. */
interface SyncTarget {
  apiUrl: string;
  tokenEnv: string;
  productId: string | undefined;
}

const refuse = (io: CliIo, json: boolean, error: LsError, code: ExitCode): never => {
  if (json) printJson(io, { ok: false, error });
  else io.err(`linestation: ${error.code}: ${error.message}${error.remedy ? ` ${error.remedy}` : ''}`);
  throw new CliExit(code);
};

const resolveTarget = async (opts: SyncOptions, io: CliIo): Promise<SyncTarget> => {
  const json = Boolean(opts.json);
  let apiUrl = PARTICLE_API_URL;
  let tokenEnv = DEFAULT_TOKEN_ENV;
  let productId: string | undefined;
  if (opts.profile) {
    const loaded = await loadProfile(opts.profile);
    if (!loaded.ok) return refuse(io, json, loaded.error, ExitCode.Usage);
    const p = loaded.value.profile;
    productId = String(p.product.id);
    if (p.registration?.mode === 'cloud') {
      apiUrl = p.registration.apiBaseUrl;
      tokenEnv = p.registration.tokenEnv;
    }
  }
  if (opts.apiUrl) apiUrl = opts.apiUrl;
  if (opts.product) productId = opts.product;
  if (opts.tokenEnv !== undefined) {
    // Never echo the value: someone may have pasted the token itself here.
    if (!isEnvVarName(opts.tokenEnv))
      return refuse(
        io,
        json,
        {
          code: 'SYNC_BAD_TOKEN_ENV',
          message: '--token-env takes the NAME of an environment variable, and what was given is not one.',
          remedy:
            'Put the token in an environment variable (e.g. PARTICLE_ACCESS_TOKEN) and pass its name; never put a token on the command line.',
        },
        ExitCode.Usage,
      );
    tokenEnv = opts.tokenEnv;
  }
  return { apiUrl, tokenEnv, productId };
};

const summary = (r: DrainReport): string =>
  `${r.imported} imported, ${r.existing} already in the product, ${r.settingsApplied} settings applied, ` +
  (r.simsImported > 0 ? `${r.simsImported} SIMs imported, ` : '') +
  `${r.failed.length} failed, ${r.retries} retries over ${r.requests} requests; ` +
  `outbox now ${r.remaining.pending} pending, ${r.remaining.blocked} blocked, ${r.remaining.failed} failed, ${r.remaining.done} done.`;

export const syncCommand = async (opts: SyncOptions, io: CliIo): Promise<void> => {
  const json = Boolean(opts.json);
  const target = await resolveTarget(opts, io);
  const file = databasePath(resolveDataDir(opts.dataDir, io.env));
  if (!existsSync(file)) {
    if (json) printJson(io, { ok: true, database: file, nothingToDo: true });
    else io.out(`Nothing to sync: no station database at ${file}.`);
    return;
  }
  // One drainer per data folder: a running station drains the outbox itself, and two drainers
  // would send the same import twice and race on each entry's state.
  const locked = acquireStationLock(resolveDataDir(opts.dataDir, io.env), { purpose: 'sync' });
  if (!locked.ok) return refuse(io, json, locked.error, ExitCode.NotReady);
  const lock = locked.value;
  if (lock.tookOverFrom && !json) io.err(`linestation: ${takeoverNotice(lock.tookOverFrom)}`);
  let db: ReturnType<typeof openDatabase>;
  try {
    db = openDatabase(file);
  } catch (e) {
    lock.release();
    throw e;
  }
  let report: DrainReport;
  try {
    const before = outboxCounts(db, target.productId);
    const client = createCloudClient({
      baseUrl: target.apiUrl,
      token: envTokenProvider(io.env, target.tokenEnv),
      // The same share of the line's IP budget as a running station (run --stations-sharing-ip).
      rateLimiter: createRateLimiter(stationShare(opts.stationsSharingIp ?? 1)),
    });
    const drain = createDrain({
      db,
      client,
      ...(target.productId ? { productId: target.productId } : {}),
      onEvent: (e) => {
        if (json) return;
        if (e.type === 'settled')
          for (const d of e.devices)
            if (d.state === 'failed') io.err(`FAILED ${d.deviceId} ${d.action}: ${d.code}: ${d.message}`);
        if (e.type === 'config-error')
          io.err(
            `STOPPED product ${e.productId}: ${e.error.code}: ${e.error.message}${e.error.remedy ? ` ${e.error.remedy}` : ''}`,
          );
        if (e.type === 'retry')
          io.err(
            `retry ${e.deviceIds.length} device(s) of product ${e.productId} in ${Math.ceil(e.retryInMs / 1000)} s: ${e.error.code}`,
          );
      },
    });
    // A manual sync is the engineer saying "I fixed it, try again": blocked entries get a new chance.
    const unblocked = drain.unblock();
    if (!json) {
      const pending = before.pending + unblocked;
      io.out(
        `Syncing ${pending} pending outbox entr${pending === 1 ? 'y' : 'ies'} to ${target.apiUrl} (token from $${target.tokenEnv}).`,
      );
    }
    report = await drain.drainNow({ deadlineMs: (opts.deadline ?? 60) * 1000 });
  } finally {
    db.close();
    lock.release();
  }
  const ok = report.configErrors.length === 0 && report.failed.length === 0 && report.remaining.pending === 0;
  if (json)
    printJson(io, { ok, database: file, apiUrl: target.apiUrl, tokenEnv: target.tokenEnv, ...report });
  else io.out(summary(report));
  if (report.configErrors.length > 0) throw new CliExit(ExitCode.NotReady);
  if (!ok) throw new CliExit(ExitCode.Failed);
};

const seconds = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number of seconds.');
  return n;
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('sync')
    .description('register queued devices to the Particle Cloud now, and report what happened')
    .option('--json', 'print the report as JSON')
    .option(
      '--data-dir <dir>',
      'station data directory (default: LINESTATION_DATA, else the OS app-data folder)',
    )
    .option('--profile <file>', 'product profile: its product, API URL and token variable')
    .option('--api-url <url>', `Particle API base URL (default: the profile's, else ${PARTICLE_API_URL})`)
    .option(
      '--token-env <name>',
      `environment variable holding the token (default: the profile's, else ${DEFAULT_TOKEN_ENV})`,
    )
    .option('--product <id>', 'only this product (default: the profile’s, else every product in the outbox)')
    .option('--deadline <seconds>', 'give up retrying after this long (default 60)', seconds)
    .option(
      '--stations-sharing-ip <n>',
      'stations of the line that reach the Particle Cloud through the same public IP address (default 1): keep to this station’s share of the rate limit',
      atLeastOne,
    )
    .addHelpText(
      'after',
      '\nThe token is never taken on the command line: set it in the environment variable named by the\nprofile (registration.tokenEnv) or by --token-env.\nExit codes: 0 all registered, 3 configuration error (token/scope/product) or the data folder is in use\n(STATION_BUSY: a running station drains the outbox itself), 4 failures or still pending.',
    )
    .action((opts: SyncOptions) => syncCommand(opts, io));
};
