import { resolve } from 'node:path';
import { Option } from 'commander';
import { LsFailure } from '../../errors/result';
import { openStationLog } from '../../station/report';
import { type ExportFormat, exportToFile, writeExport } from '../../store/export';
import { ExitCode } from '../exit-codes';
import { CliExit, reportError } from '../io';
import { DATA_DIR_HELP } from '../options';
import type { RegisterCommand } from './index';

export const register: RegisterCommand = (program, io) => {
  program
    .command('export')
    .description('export a batch, one row per attempt, as CSV or JSON')
    .argument('<lot>', 'lot ID')
    .addOption(new Option('--format <format>', 'csv or json').choices(['csv', 'json']).default('csv'))
    .option('--out <file>', 'write to this file (default: standard output)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action((lot: string, opts: { format: ExportFormat; out?: string; dataDir?: string }) => {
      const { log } = openStationLog(opts.dataDir, io.env);
      try {
        if (opts.out) {
          const file = resolve(io.cwd, opts.out);
          const rows = exportToFile(log, lot, opts.format, file);
          io.err(`Exported ${rows} attempt${rows === 1 ? '' : 's'} of ${lot} to ${file}`);
          return;
        }
        const b = log.requireBatch(lot);
        // io.out adds a newline per call; strip the chunk's own trailing one to keep bytes exact.
        let pending = '';
        writeExport(log, b, opts.format, (chunk) => {
          pending += chunk;
          const cut = pending.lastIndexOf('\n');
          if (cut >= 0) {
            io.out(pending.slice(0, cut));
            pending = pending.slice(cut + 1);
          }
        });
        if (pending) io.out(pending);
      } catch (e) {
        if (e instanceof LsFailure && /^(BATCH_NOT_FOUND|EXPORT_WRITE_FAILED)$/.test(e.error.code)) {
          reportError(io, e, false);
          throw new CliExit(ExitCode.Refused);
        }
        throw e;
      } finally {
        log.close();
      }
    });
};
