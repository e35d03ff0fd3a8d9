import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { isEnvVarName } from '../../cloud/token';
import type { LsError } from '../../errors/result';
import { DEFAULT_LINE_DB_ENV, lineDbTargetFromEnv } from '../../line-db/config';
import { peekStationId } from '../../line-db/station-identity';
import { type LineStationView, lineStationView } from '../../line-db/station-view';
import { testLineDb } from '../../line-db/test-connection';
import { databasePath, resolveDataDir } from '../../store/data-dir';
import { openDatabase } from '../../store/database';
import { type LineFeedState, lineFeedState } from '../../store/line-feed';
import { defaultPageDir, pageBuilt } from '../../supervisor/page-dir';
import { readLineReport } from '../../supervisor/read';
import { startSupervisor } from '../../supervisor/server';
import type { LineReport } from '../../supervisor/types';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import { DATA_DIR_HELP } from '../options';
import { untilStopped } from '../until-stopped';
import type { RegisterCommand } from './index';

/*
 * `linestation line …`: the station's side of the line database. `status` reads the local change
 * feed (what waits to be forwarded) and, when a line database is configured, asks it what it holds
 * about this station. The supervisor's `line serve` is another command of this group.
 */

interface StatusOptions {
  dataDir?: string;
  lineDbEnv?: string;
  json?: boolean;
}

export interface LineStatusReport {
  readonly database: string;
  readonly stationId: string | null;
  readonly envName: string;
  readonly configured: boolean;
  readonly target: string | null;
  /** The local change feed: what this station still has to forward. */
  readonly local: LineFeedState | null;
  /** What the line database holds about this station; null when not asked or never forwarded. */
  readonly line: LineStationView | null;
  /**
   * The whole line as the supervisor page shows it (stations, totals, per station, operator and
   * the newest lots); null when the line database was not asked or could not be read.
   */
  readonly lineView: LineReport | null;
  readonly error: { code: string; message: string; remedy?: string } | null;
}

const errorOf = (e: LsError) => ({
  code: e.code,
  message: e.message,
  ...(e.remedy ? { remedy: e.remedy } : {}),
});

export const lineStatusCommand = async (opts: StatusOptions, io: CliIo): Promise<void> => {
  const envName = opts.lineDbEnv ?? DEFAULT_LINE_DB_ENV;
  if (!isEnvVarName(envName)) {
    io.err(
      'linestation: USAGE: --line-db-env takes the NAME of an environment variable, not a URL or a password.',
    );
    throw new CliExit(ExitCode.Usage);
  }
  const dataDir = resolveDataDir(opts.dataDir, io.env);
  const file = databasePath(dataDir);
  let local: LineFeedState | null = null;
  // Reading must not create a database where there was none (a mistyped --data-dir).
  if (existsSync(file)) {
    const db = openDatabase(file);
    try {
      local = lineFeedState(db);
    } finally {
      db.close();
    }
  }
  const stationId = peekStationId(dataDir) ?? null;
  const target = lineDbTargetFromEnv(io.env, envName);
  let line: LineStationView | null = null;
  let error: LsError | null = target.ok ? null : target.error;
  let lineView: LineReport | null = null;
  if (target.ok && target.value) {
    const tested = await testLineDb(target.value);
    if (!tested.ok) error = tested.error;
    else if (stationId) {
      const v = await lineStationView(target.value, stationId);
      if (v.ok) line = v.value ?? null;
      else error = v.error;
    }
    // A read-only login (a supervisor's) fails the station's test but still reads the line.
    if (!error || error.code === 'LINE_DB_READ_ONLY') {
      const r = await readLineReport(target.value);
      if (r.ok) lineView = r.value;
      else error ??= r.error;
    }
  }
  const report: LineStatusReport = {
    database: file,
    stationId,
    envName,
    configured: !target.ok || target.value !== undefined,
    target: target.ok && target.value ? target.value.display : null,
    local,
    line,
    lineView,
    error: error ? errorOf(error) : null,
  };
  if (opts.json) printJson(io, report);
  else {
    io.out(
      `Station ${stationId ?? '(no station ID yet: it is made when the station first runs with a line database)'}`,
    );
    io.out(
      !report.configured
        ? `Line database: not configured ($${envName} is not set).`
        : `Line database: ${report.target ?? `$${envName} (unusable)`}`,
    );
    if (local)
      io.out(
        local.enabled
          ? `Local: ${local.behind} change(s) waiting to be forwarded; forwarded up to #${local.ackedSeq}${local.ackedAt ? ` (${local.ackedAt})` : ''}.`
          : 'Local: the change feed is off (this station has never run with a line database).',
      );
    else io.out(`Local: no station database at ${file}.`);
    if (line)
      io.out(
        `The line database has this station as "${line.name}": ${line.attempts} attempts, up to #${line.forwardedSeq}, last seen ${line.lastSeenAt}${line.clockSkewMs !== null && Math.abs(line.clockSkewMs) > 120_000 ? `, clock ${Math.round(line.clockSkewMs / 60_000)} min off` : ''}.`,
      );
    if (lineView) {
      const t = lineView.totals;
      const p = (x: number) => `${(x * 100).toFixed(1)}%`;
      io.out(
        `The line: ${lineView.stations.length} station(s), ${t.attempts} attempts, ${t.unitsPassed} of ${t.units} units passed (yield ${p(t.yield)}, first-pass ${p(t.firstPassYield)}), ${t.failed} failed.`,
      );
    }
    for (const o of line?.sameName ?? [])
      io.out(`Another station is also named "${line?.name}": ${o.stationId} (last seen ${o.lastSeenAt}).`);
    if (error) io.out(`${error.code}: ${error.message}${error.remedy ? ` ${error.remedy}` : ''}`);
  }
  if (error)
    throw new CliExit(
      error.code === 'LINE_DB_UNREACHABLE' || error.code === 'LINE_DB_TIMEOUT'
        ? ExitCode.Failed
        : ExitCode.NotReady,
    );
};

interface ServeOptions {
  dbEnv?: string;
  port: number;
  host: string;
  json?: boolean;
}

export const DEFAULT_SERVE_PORT = 8470;

const portNumber = (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535)
    throw new InvalidArgumentError('must be a port number from 0 to 65535.');
  return n;
};

/** `linestation line serve`: the supervisor's page until Ctrl-C. */
export const lineServeCommand = async (opts: ServeOptions, io: CliIo): Promise<void> => {
  const envName = opts.dbEnv ?? DEFAULT_LINE_DB_ENV;
  const target = lineDbTargetFromEnv(io.env, envName);
  if (!target.ok) {
    // Said without echoing what was given: it may be a URL with a password.
    io.err(`linestation: ${target.error.code}: ${target.error.message} ${target.error.remedy ?? ''}`.trim());
    throw new CliExit(ExitCode.Usage);
  }
  if (!target.value) {
    io.err(
      `linestation: LINE_DB_NOT_CONFIGURED: $${envName} is not set. Put the line database's URL in it (export ${envName}=postgres://USER:PASSWORD@HOST:5432/DATABASE), ideally a read-only login.`,
    );
    throw new CliExit(ExitCode.NotReady);
  }
  const pageDir = defaultPageDir();
  const started = await startSupervisor({
    target: target.value,
    host: opts.host,
    port: opts.port,
    pageDir,
    onEvent: (e) => {
      if (e.type === 'listen-lost' || e.type === 'refresh-failed')
        io.err(`linestation: ${e.error.code}: ${e.error.message}`);
      else if (e.type === 'listen-back')
        io.err('linestation: listening for changes again; the line was read again.');
    },
  });
  if (!started.ok) {
    io.err(
      `linestation: ${started.error.code}: ${started.error.message}${started.error.remedy ? ` ${started.error.remedy}` : ''}`,
    );
    throw new CliExit(started.error.code.startsWith('SUPERVISOR_') ? ExitCode.NotReady : ExitCode.Failed);
  }
  const sup = started.value;
  if (opts.json)
    printJson(io, {
      type: 'serving',
      url: sup.url,
      host: sup.host,
      port: sup.port,
      lineDatabase: target.value.display,
    });
  else {
    io.out(`Supervisor view: ${sup.url}`);
    io.out(`Line database: ${target.value.display} (read-only)`);
    if (!pageBuilt(pageDir))
      io.out(
        'The page is not built: run "npm run build:renderer" in the checkout. The JSON API answers meanwhile.',
      );
    if (!['127.0.0.1', '::1'].includes(sup.host))
      io.out(
        `Listening on ${sup.host}: anyone who can reach this machine on port ${sup.port} can read the line.`,
      );
    io.out('Ctrl-C stops it.');
  }
  await untilStopped();
  await sup.close();
};

export const register: RegisterCommand = (program, io) => {
  const line = program.command('line').description('the line database: this station as the line sees it');
  line
    .command('status')
    .description('what waits to be forwarded here, and what the line database holds about this station')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option(
      '--line-db-env <name>',
      `environment variable holding the line database URL (default ${DEFAULT_LINE_DB_ENV})`,
    )
    .option('--json', 'print the report as JSON')
    .action((opts: StatusOptions) => lineStatusCommand(opts, io));
  line
    .command('serve')
    .description("the supervisor's live page and JSON API for the whole line (read-only), until Ctrl-C")
    .option(
      '--db-env <name>',
      `environment variable holding the line database URL (default ${DEFAULT_LINE_DB_ENV}); never a URL`,
    )
    .option(
      '--port <n>',
      `port to listen on (default ${DEFAULT_SERVE_PORT}; 0 = any free one)`,
      portNumber,
      DEFAULT_SERVE_PORT,
    )
    .option('--host <address>', 'address to listen on (default 127.0.0.1: this machine only)', '127.0.0.1')
    .option('--json', 'print where it serves as JSON')
    .action((opts: ServeOptions) => lineServeCommand(opts, io));
};
