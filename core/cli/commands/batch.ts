import { LsFailure } from '../../errors/result';
import { batchDetails, openStationLog } from '../../station/report';
import { outboxStates } from '../../store/export';
import type { AttemptRecord } from '../../store/records';
import { batchStats } from '../../store/stats';
import { ExitCode } from '../exit-codes';
import { CliExit, printJson, reportError } from '../io';
import { DATA_DIR_HELP } from '../options';
import type { RegisterCommand } from './index';

/** What identify read, after the attempt's facts: ` serial S013… ICCID 8988… IMEI 35… Device OS 6.2.1`. */
const identityCells = (a: AttemptRecord): string =>
  (
    [
      ['serial', a.serialNumber],
      ['ICCID', a.iccid],
      ['IMEI', a.imei],
      ['Device OS', a.deviceOs],
    ] as const
  )
    .filter(([, v]) => v)
    .map(([k, v]) => ` ${k} ${v}`)
    .join('');

export const register: RegisterCommand = (program, io) => {
  const batch = program.command('batch').description('look at one batch');
  batch
    .command('show')
    .description('details, counts, yield, failure Pareto and step-duration percentiles of a batch')
    .argument('<lot>', 'lot ID')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--attempts', 'also list every attempt')
    .option('--json', 'print JSON (batch, stats, attempts and audit log)')
    .action((lot: string, opts: { dataDir?: string; json?: boolean; attempts?: boolean }) => {
      const { log } = openStationLog(opts.dataDir, io.env);
      try {
        const b = log.requireBatch(lot);
        const stats = batchStats(log, lot);
        if (opts.json) {
          printJson(io, { batch: b, stats, attempts: log.attempts(b.id), audit: log.audit(b.id) });
          return;
        }
        for (const line of batchDetails(b, stats)) io.out(line);
        // A PASS's registration as the outbox holds it now (the export's rule): queued then, sim-failed now.
        const live = opts.attempts ? outboxStates(log, b.product) : new Map<string, string>();
        const registration = (a: AttemptRecord): string | null =>
          (a.result === 'pass' && a.deviceId ? live.get(a.deviceId) : undefined) ?? a.registrationState;
        if (opts.attempts)
          for (const a of log.attempts(b.id))
            io.out(
              `  #${a.id} slot ${a.slot} ${a.portPath} ${a.deviceId ?? '-'} try ${a.tryNumber} ${a.result}${a.errorCode ? ` ${a.errorCode} at ${a.step}` : ''} ${a.durationMs ?? '-'} ms${a.result === 'pass' ? ` (${registration(a)})` : ''}${identityCells(a)}`,
            );
      } catch (e) {
        if (e instanceof LsFailure && e.error.code === 'BATCH_NOT_FOUND') {
          reportError(io, e, false);
          throw new CliExit(ExitCode.Refused);
        }
        throw e;
      } finally {
        log.close();
      }
    });
  for (const [name, state, what] of [
    ['pause', 'paused', 'pause a batch: no new attempt starts until it is resumed'],
    ['resume', 'running', 'resume a paused batch'],
    ['close', 'closed', 'close a batch: it becomes read-only (start a new lot to go on)'],
  ] as const)
    batch
      .command(name)
      .description(what)
      .argument('<lot>', 'lot ID')
      .requiredOption('--by <name>', 'who does it (recorded in the audit log)')
      .option(
        '--data-dir <dir>',
        'station data directory (default: LINESTATION_DATA or the OS app-data folder)',
      )
      .option('--json', 'print JSON')
      .action((lot: string, opts: { by: string; dataDir?: string; json?: boolean }) => {
        const { log } = openStationLog(opts.dataDir, io.env);
        try {
          const b = log.requireBatch(lot);
          const after = log.setBatchState(b.id, state, opts.by, { via: 'cli' });
          if (opts.json) printJson(io, after);
          else io.out(`Batch ${lot} is ${after.state}.`);
        } catch (e) {
          if (e instanceof LsFailure && /^BATCH_/.test(e.error.code)) {
            reportError(io, e, false);
            throw new CliExit(ExitCode.Refused);
          }
          throw e;
        } finally {
          log.close();
        }
      });
};
