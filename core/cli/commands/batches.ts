import { batchLine, openStationLog } from '../../station/report';
import { batchStats } from '../../store/stats';
import { printJson } from '../io';
import { DATA_DIR_HELP } from '../options';
import type { RegisterCommand } from './index';

export const register: RegisterCommand = (program, io) => {
  program
    .command('batches')
    .description("list this station's batches with their counts and yield")
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print JSON')
    .action((opts: { dataDir?: string; json?: boolean }) => {
      const { log } = openStationLog(opts.dataDir, io.env);
      try {
        const rows = log.batches().map((b) => ({ batch: b, stats: batchStats(log, b.lot) }));
        if (opts.json) {
          printJson(io, rows);
          return;
        }
        if (rows.length === 0) {
          io.out('No batches yet. Start one with "linestation run --profile P --batch LOT".');
          return;
        }
        for (const r of rows) io.out(batchLine(r.batch, r.stats));
      } finally {
        log.close();
      }
    });
};
