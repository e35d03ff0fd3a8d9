import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { LsError } from '../../errors/result';
import { type LabelJobState, requestReprint } from '../../labels/index';
import {
  labelFormatOf,
  labelJobsReport,
  previewProfileLabel,
  testProfilePrinter,
  verifyLabelScan,
} from '../../station/label-ops';
import { openStationLog } from '../../station/report';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import { atLeastOne, DATA_DIR_HELP } from '../options';
import type { RegisterCommand } from './index';

/*
 * linestation labels: the label jobs of a batch and their states, a reprint (audited), the
 * profile's label with sample data as a file, a printer test, and a scanned label checked against
 * a batch (for a station without the desktop app's scan box). Each parses, calls one core
 * operation (core/station/label-ops.ts, core/labels) and prints.
 */

/** A refusal as one line (or JSON), ending with `code`. */
const refuse = (io: CliIo, e: LsError, json: boolean | undefined, code: ExitCode): never => {
  if (json)
    printJson(io, { ok: false, code: e.code, message: e.message, remedy: e.remedy, details: e.details });
  else io.err(`linestation: ${e.code}: ${e.message}${e.remedy ? ` ${e.remedy}` : ''}`);
  throw new CliExit(code);
};

const STATES = ['pending', 'printed', 'failed'] as const;

/** Writes the whole file or nothing (a folder watcher never sees half a label). */
const writeAtomically = (file: string, bytes: Uint8Array): void => {
  const tmp = `${file}.partial`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
};

export const register: RegisterCommand = (program, io) => {
  const labels = program
    .command('labels')
    .description(
      'the label jobs of a batch and their states (list, the default), reprint, preview, test-printer, verify',
    );
  // The listing is the default subcommand, so `labels --lot L --json` needs no word and the other
  // subcommands keep options of the same names (--lot, --json) for themselves.
  labels
    .command('list', { isDefault: true })
    .description("a batch's label jobs and their states (the newest batch unless --lot)")
    .option('--lot <lot>', 'the batch (default: the newest)')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(STATES))
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print JSON')
    .action((opts: { lot?: string; state?: LabelJobState; dataDir?: string; json?: boolean }) => {
      const { log } = openStationLog(opts.dataDir, io.env);
      try {
        const r = labelJobsReport(log, { lot: opts.lot, state: opts.state });
        if (!r.ok) return refuse(io, r.error, opts.json, ExitCode.Refused);
        const { batch, counts, jobs } = r.value;
        if (opts.json) {
          printJson(io, { lot: batch.lot, counts, jobs });
          return;
        }
        io.out(
          `Lot ${batch.lot}: ${counts.printed} printed, ${counts.pending} pending, ${counts.failed} failed`,
        );
        for (const j of jobs)
          io.out(
            [
              `  job ${j.id}`,
              `attempt ${j.attemptId}`,
              j.deviceId,
              j.kind === 'reprint' ? `reprint by ${j.requestedBy ?? '?'}` : 'print',
              j.state,
              `tries ${j.tries}`,
              j.state === 'printed'
                ? `${j.output ?? ''}${j.maybePrinted ? ' (a spare may have printed)' : ''}`
                : j.lastErrorCode
                  ? `${j.lastErrorCode}: ${j.lastErrorMessage ?? ''}`
                  : '',
              j.verified ? `label ${j.verified}` : '',
            ]
              .filter(Boolean)
              .join('  '),
          );
      } finally {
        log.close();
      }
    });

  labels
    .command('reprint')
    .description("queue a device's label again (audited); the running station prints it, or the next run")
    .argument(
      '<attempt-id>',
      'the attempt whose label to print again (linestation labels lists them)',
      atLeastOne,
    )
    .requiredOption('--by <name>', 'who asks (recorded in the audit log)')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print JSON')
    .action((attemptId: number, opts: { by: string; reason?: string; dataDir?: string; json?: boolean }) => {
      const { log } = openStationLog(opts.dataDir, io.env);
      try {
        const r = requestReprint(log.db, { attemptId, actor: opts.by, reason: opts.reason });
        if (!r.ok) return refuse(io, r.error, opts.json, ExitCode.Refused);
        if (opts.json) printJson(io, r.value);
        else
          io.out(
            `Reprint of ${r.value.deviceId}'s label queued as job ${r.value.id} (requested by ${opts.by}). A running station prints it within seconds; otherwise the next run does.`,
          );
      } finally {
        log.close();
      }
    });

  labels
    .command('preview')
    .description(
      "the profile's label with sample data, as a PNG (what the engineer's preview shows), PDF or ZPL",
    )
    .requiredOption('--profile <file>', 'the product profile')
    .requiredOption('--out <file>', 'FILE.png, FILE.pdf or FILE.zpl', (v: string) => {
      if (!labelFormatOf(v)) throw new InvalidArgumentError('must end in .png, .pdf or .zpl.');
      return v;
    })
    .option('--json', 'print JSON')
    .action(async (opts: { profile: string; out: string; json?: boolean }) => {
      const file = resolve(io.cwd, opts.out);
      const format = labelFormatOf(file) ?? 'png';
      const r = await previewProfileLabel(resolve(io.cwd, opts.profile), format);
      if (!r.ok)
        return refuse(
          io,
          r.error,
          opts.json,
          /^LABEL_(?!NOT_CONFIGURED)/.test(r.error.code) ? ExitCode.Refused : ExitCode.NotReady,
        );
      try {
        writeAtomically(file, r.value.bytes);
      } catch (e) {
        return refuse(
          io,
          {
            code: 'PREVIEW_WRITE_FAILED',
            message: `Cannot write ${file}: ${(e as Error).message}`,
            remedy: 'Pick a writable folder for --out.',
          },
          opts.json,
          ExitCode.Refused,
        );
      }
      if (opts.json) printJson(io, { file, format, bytes: r.value.bytes.length, content: r.value.content });
      else io.out(`Wrote the label preview (sample data, symbol ${r.value.content}) to ${file}.`);
    });

  labels
    .command('test-printer')
    .description("ask the profile's label printer whether it could print now (prints nothing)")
    .requiredOption('--profile <file>', 'the product profile')
    .option('--json', 'print JSON')
    .action(async (opts: { profile: string; json?: boolean }) => {
      const r = await testProfilePrinter(resolve(io.cwd, opts.profile));
      if (!r.ok) return refuse(io, r.error, opts.json, ExitCode.NotReady);
      if (opts.json) printJson(io, { ok: true, ...r.value });
      else io.out(r.value.message);
    });

  labels
    .command('verify')
    .description('check a scanned label against the printed labels of a batch (scan-back)')
    .requiredOption('--lot <lot>', 'the batch')
    .argument('<scan>', 'what the scanner read')
    .option('--by <name>', 'who scanned (recorded with the check)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print JSON')
    .action((scan: string, opts: { lot: string; by?: string; dataDir?: string; json?: boolean }) => {
      const { log } = openStationLog(opts.dataDir, io.env);
      try {
        const r = verifyLabelScan(log, { lot: opts.lot, scanned: scan, actor: opts.by });
        // A wrong label on a device is a failure the line must see; anything else is a refused scan.
        if (!r.ok)
          return refuse(
            io,
            r.error,
            opts.json,
            r.error.code === 'LABEL_MISMATCH' ? ExitCode.Failed : ExitCode.Refused,
          );
        if (opts.json) printJson(io, { ok: true, ...r.value });
        else
          io.out(
            `Label verified: ${r.value.content} is the label of ${r.value.deviceId} (attempt ${r.value.attemptId})${r.value.alreadyVerified ? ', scanned before' : ''}.`,
          );
      } finally {
        log.close();
      }
    });
};
