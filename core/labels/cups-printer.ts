import { spawn } from 'node:child_process';
import type { Result } from '../errors/result';
import { err, ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';

/**
 * A CUPS queue, for printers that do not speak ZPL, through the CUPS command-line tools so no
 * IPP client of our own stands between the station and the printer: `lpstat -r` (is the
 * scheduler up), `lpstat -p QUEUE` (does the queue exist, is it stopped), then
 * `lp -d QUEUE` with the label's PDF on standard input.
 *
 * CUPS keeps its own queue: `lp` succeeding means CUPS accepted the label, not that it printed.
 * That is why a stopped queue is refused here (the label stays in our queue, where the station
 * shows it pending) rather than handed to CUPS to wait unseen.
 */

export interface CupsOptions {
  /** CUPS_SERVER for the tools: a host[:port] or a socket path; default the system's. */
  readonly server?: string | undefined;
  /** Per command; a hung scheduler must not hang the print loop. */
  readonly timeoutMs?: number | undefined;
  readonly env?: NodeJS.ProcessEnv | undefined;
}

export interface CupsPrintReceipt {
  /** CUPS's job ID, e.g. `labels-42`. */
  readonly requestId: string;
}

type CupsErrorCode = LabelErrorCode | 'ABORTED';

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const run = (
  command: string,
  args: readonly string[],
  opts: CupsOptions,
  input?: Uint8Array,
  signal?: AbortSignal,
): Promise<Result<RunResult, CupsErrorCode>> =>
  new Promise((resolve) => {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env), LANG: 'C', LC_ALL: 'C' };
    if (opts.server) env.CUPS_SERVER = opts.server;
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (r: Result<RunResult, CupsErrorCode>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(
        labelErr('LABEL_CUPS_TIMEOUT', `${command} did not finish within ${timeoutMs} ms.`, {
          details: { command, args },
        }),
      );
    }, timeoutMs);
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(err('ABORTED', 'Printing was cancelled.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      finish(
        e.code === 'ENOENT'
          ? labelErr(
              'LABEL_CUPS_MISSING',
              `${command} is not installed on this station, so CUPS cannot be used.`,
              {
                details: { command },
              },
            )
          : labelErr('LABEL_CUPS_FAILED', `${command} could not be started: ${e.message}.`, {
              details: { command },
            }),
      ),
    );
    child.on('close', (code) => finish(ok({ code, stdout, stderr })));
    // A tool that exits before reading its input (a refused queue) closes the pipe: not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ? Buffer.from(input) : undefined);
  });

const firstLine = (s: string) => s.trim().split('\n')[0]?.trim() ?? '';

/**
 * Whether a queue can take a label now: the scheduler answers, the queue exists and is not
 * stopped. Resolves with the queue's own status line.
 */
export const cupsQueueStatus = async (
  queue: string,
  opts: CupsOptions = {},
  signal?: AbortSignal,
): Promise<Result<string, CupsErrorCode>> => {
  const sched = await run('lpstat', ['-r'], opts, undefined, signal);
  if (!sched.ok) return sched;
  if (!/scheduler is running/i.test(sched.value.stdout) || /not running/i.test(sched.value.stdout))
    return labelErr(
      'LABEL_CUPS_UNREACHABLE',
      `The CUPS scheduler is not running${opts.server ? ` at ${opts.server}` : ''}.`,
      {
        details: { said: firstLine(sched.value.stdout || sched.value.stderr) },
      },
    );
  const p = await run('lpstat', ['-p', queue], opts, undefined, signal);
  if (!p.ok) return p;
  if (p.value.code !== 0 || !p.value.stdout.trim())
    return labelErr('LABEL_CUPS_QUEUE_UNKNOWN', `CUPS has no printer queue named "${queue}".`, {
      details: { queue, said: firstLine(p.value.stderr || p.value.stdout) },
    });
  const [statusLine = '', ...reasonLines] = p.value.stdout.trim().split('\n');
  if (/\bdisabled\b/.test(statusLine)) {
    const reason = reasonLines
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' ');
    return labelErr(
      'LABEL_CUPS_DISABLED',
      `The CUPS queue "${queue}" is stopped${reason ? `: ${reason}` : ''}.`,
      { details: { queue, said: statusLine.trim(), reason } },
    );
  }
  return ok(statusLine.trim());
};

export interface CupsDocument {
  readonly pdf: Uint8Array;
  readonly title: string;
  /** Label size, passed as a custom media so a driver that honours it prints at true size. */
  readonly widthMm?: number;
  readonly heightMm?: number;
}

export const printCups = async (
  queue: string,
  doc: CupsDocument,
  opts: CupsOptions = {},
  signal?: AbortSignal,
): Promise<Result<CupsPrintReceipt, CupsErrorCode>> => {
  const ready = await cupsQueueStatus(queue, opts, signal);
  if (!ready.ok) return ready;
  const args = ['-d', queue, '-t', doc.title];
  if (doc.widthMm && doc.heightMm) args.push('-o', `media=Custom.${doc.widthMm}x${doc.heightMm}mm`);
  const r = await run('lp', args, opts, doc.pdf, signal);
  if (!r.ok) return r;
  const said = firstLine(r.value.stderr || r.value.stdout);
  const id = /request id is (\S+)/.exec(r.value.stdout)?.[1];
  if (r.value.code === 0 && id) return ok({ requestId: id });
  if (/not accepting/i.test(said))
    return labelErr('LABEL_CUPS_REJECTING', `The CUPS queue "${queue}" is not accepting jobs.`, {
      details: { queue, said },
    });
  if (/does not exist|not found|invalid destination/i.test(said))
    return labelErr('LABEL_CUPS_QUEUE_UNKNOWN', `CUPS has no printer queue named "${queue}".`, {
      details: { queue, said },
    });
  if (/scheduler is not running|unable to connect/i.test(said))
    return labelErr('LABEL_CUPS_UNREACHABLE', 'The CUPS scheduler stopped answering.', {
      details: { queue, said },
    });
  return labelErr(
    'LABEL_CUPS_FAILED',
    `lp refused the label for "${queue}": ${said || `exit ${r.value.code}`}.`,
    {
      details: { queue, said, exitCode: r.value.code },
    },
  );
};
