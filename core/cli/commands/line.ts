import { existsSync } from 'node:fs';
import { isEnvVarName } from '../../cloud/token';
import type { LsError } from '../../errors/result';
import { DEFAULT_LINE_DB_ENV, lineDbTargetFromEnv } from '../../line-db/config';
import { peekStationId } from '../../line-db/station-identity';
import { type LineStationView, lineStationView } from '../../line-db/station-view';
import { testLineDb } from '../../line-db/test-connection';
import { databasePath, resolveDataDir } from '../../store/data-dir';
import { openDatabase } from '../../store/database';
import { type LineFeedState, lineFeedState } from '../../store/line-feed';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import { DATA_DIR_HELP } from '../options';
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
  if (target.ok && target.value) {
    const tested = await testLineDb(target.value);
    if (!tested.ok) error = tested.error;
    else if (stationId) {
      const v = await lineStationView(target.value, stationId);
      if (v.ok) line = v.value ?? null;
      else error = v.error;
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
};
