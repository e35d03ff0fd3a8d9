import { LsFailure } from '../../errors/result';
import { batchDetails, openStationLog } from '../../station/report';
import { batchStats } from '../../store/stats';
import { ExitCode } from '../exit-codes';
import { CliExit, printJson, reportError } from '../io';
import type { RegisterCommand } from './index';

export const register: RegisterCommand = (program, io) => {
  const batch = program.command('batch').description('look at one batch');
  batch
    .command('show')
    .description('details, counts, yield, failure Pareto and step-duration percentiles of a batch')
    .argument('<lot>', 'lot ID')
    .option(
      '--data-dir <dir>',
      'station data directory (default: LINESTATION_DATA or the OS app-data folder)',
    )
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
        if (opts.attempts)
          for (const a of log.attempts(b.id))
            io.out(
              `  #${a.id} slot ${a.slot} ${a.portPath} ${a.deviceId ?? '-'} try ${a.tryNumber} ${a.result}${a.errorCode ? ` ${a.errorCode} at ${a.step}` : ''} ${a.durationMs ?? '-'} ms`,
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
};
