import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../../core/time/sleep';

/**
 * A throwaway CUPS scheduler for tests: its own configuration, spool and state in a temporary
 * folder, listening only on a Unix socket there (no network port), so it never touches a
 * system CUPS. Queues print to files (`FileDevice Yes`) through a PPD whose only filter is
 * CUPS's own gziptoany, which passes a PDF through unchanged: the file holds exactly what `lp`
 * was given. (A raw queue with a file: device runs no process at all and writes nothing.)
 */

export interface PrivateCups {
  /** CUPS_SERVER for the tools. */
  readonly server: string;
  readonly dir: string;
  /** Adds an enabled, accepting queue printing to a file; resolves with the file's path. */
  addFileQueue(name: string): string;
  disable(name: string, reason: string): void;
  reject(name: string): void;
  /** Jobs CUPS holds for a queue, not yet printed (lpstat -o). */
  queuedJobs(name: string): string[];
  /** Waits (bounded) until the queue's output file holds `bytes` bytes. */
  output(file: string, bytes: number): Promise<Buffer | undefined>;
  stop(): Promise<void>;
}

const PPD = `*PPD-Adobe: "4.3"
*FormatVersion: "4.3"
*FileVersion: "1.0"
*LanguageVersion: English
*LanguageEncoding: ISOLatin1
*PCFileName: "LSLABEL.PPD"
*Manufacturer: "linestation"
*Product: "(label test queue)"
*ModelName: "linestation label test queue"
*ShortNickName: "linestation label test"
*NickName: "linestation label test queue"
*PSVersion: "(3010.000) 0"
*LanguageLevel: "3"
*ColorDevice: False
*DefaultColorSpace: Gray
*FileSystem: False
*Throughput: "1"
*LandscapeOrientation: Plus90
*TTRasterizer: Type42
*cupsFilter: "application/pdf 0 gziptoany"
*OpenUI *PageSize/Media Size: PickOne
*DefaultPageSize: Label
*PageSize Label/Label: "<</PageSize[142 71]>>setpagedevice"
*CloseUI: *PageSize
*DefaultPageRegion: Label
*PageRegion Label/Label: "<</PageSize[142 71]>>setpagedevice"
*DefaultImageableArea: Label
*ImageableArea Label/Label: "0 0 142 71"
*DefaultPaperDimension: Label
*PaperDimension Label/Label: "142 71"
`;

const has = (cmd: string, args: string[]) => spawnSync(cmd, args).error === undefined;

/** Why a private cupsd cannot run here, or undefined when it can be tried. */
export const cupsUnavailable = (): string | undefined => {
  if (process.platform !== 'linux') return 'CUPS tests run on Linux only';
  for (const [cmd, pkg] of [
    ['cupsd', 'cups'],
    ['lpadmin', 'cups-client'],
    ['lp', 'cups-client'],
    ['lpstat', 'cups-client'],
  ] as const)
    if (!has(cmd, ['-h']) && !existsSync(`/usr/sbin/${cmd}`))
      return `${cmd} is not installed (apt-get install ${pkg})`;
  if (!existsSync('/usr/lib/cups/filter/gziptoany'))
    return 'CUPS filter gziptoany is missing (apt-get install cups)';
  return undefined;
};

/** Admin tools live in /usr/sbin, which a non-root PATH may lack. */
const sbin = (cmd: string) => (existsSync(`/usr/sbin/${cmd}`) ? `/usr/sbin/${cmd}` : cmd);

export const startPrivateCups = async (): Promise<PrivateCups | { skip: string }> => {
  const why = cupsUnavailable();
  if (why) return { skip: why };
  const dir = mkdtempSync(join(tmpdir(), 'ls-cups-'));
  chmodSync(dir, 0o755);
  for (const d of ['spool', 'cache', 'state', 'log', 'out', 'ppd']) mkdirSync(join(dir, d));
  // The scheduler writes spool files as root and runs filters as lp: both must reach them.
  chmodSync(join(dir, 'spool'), 0o1777);
  chmodSync(join(dir, 'out'), 0o777);
  const socket = join(dir, 'cups.sock');
  writeFileSync(
    join(dir, 'cupsd.conf'),
    [
      `Listen ${socket}`,
      'LogLevel warn',
      'WebInterface No',
      'Browsing No',
      'DefaultAuthType None',
      '<Location />',
      '  Order allow,deny',
      '  Allow all',
      '</Location>',
      '<Location /admin>',
      '  Order allow,deny',
      '  Allow all',
      '</Location>',
      '<Policy default>',
      '  <Limit All>',
      '    Order deny,allow',
      '  </Limit>',
      '</Policy>',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'cups-files.conf'),
    [
      'FileDevice Yes',
      `ServerRoot ${dir}`,
      `RequestRoot ${join(dir, 'spool')}`,
      `TempDir ${join(dir, 'spool')}`,
      `CacheDir ${join(dir, 'cache')}`,
      `StateDir ${join(dir, 'state')}`,
      `ErrorLog ${join(dir, 'log', 'error_log')}`,
      `AccessLog ${join(dir, 'log', 'access_log')}`,
      `PageLog ${join(dir, 'log', 'page_log')}`,
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'label.ppd'), PPD);
  const env = { ...process.env, CUPS_SERVER: socket, LANG: 'C', LC_ALL: 'C' };
  const child: ChildProcess = spawn(
    sbin('cupsd'),
    ['-f', '-c', join(dir, 'cupsd.conf'), '-s', join(dir, 'cups-files.conf')],
    {
      stdio: 'ignore',
    },
  );
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  // Bounded: the scheduler is up once lpstat says so.
  for (let i = 0; i < 100 && !exited; i++) {
    const r = spawnSync('lpstat', ['-r'], { env, encoding: 'utf8' });
    if (/scheduler is running/.test(r.stdout) && !/not running/.test(r.stdout)) break;
    await sleep(100);
  }
  const up = spawnSync('lpstat', ['-r'], { env, encoding: 'utf8' });
  if (exited || !/scheduler is running/.test(up.stdout) || /not running/.test(up.stdout)) {
    child.kill('SIGKILL');
    const log = existsSync(join(dir, 'log', 'error_log'))
      ? readFileSync(join(dir, 'log', 'error_log'), 'utf8')
      : '';
    return { skip: `a private cupsd did not start here (${log.trim().split('\n').pop() ?? 'no log'})` };
  }
  const admin = (args: string[]) => {
    const r = spawnSync(sbin(args[0] ?? ''), args.slice(1), { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr || r.stdout}`);
  };
  return {
    server: socket,
    dir,
    addFileQueue(name) {
      const file = join(dir, 'out', `${name}.out`);
      admin(['lpadmin', '-p', name, '-v', `file://${file}`, '-P', join(dir, 'label.ppd'), '-E']);
      return file;
    },
    disable(name, reason) {
      admin(['cupsdisable', '-r', reason, name]);
    },
    reject(name) {
      admin(['cupsreject', name]);
    },
    queuedJobs(name) {
      const r = spawnSync('lpstat', ['-o', name], { env, encoding: 'utf8' });
      return r.stdout.split('\n').filter((l) => l.trim() !== '');
    },
    async output(file, bytes) {
      for (let i = 0; i < 100; i++) {
        if (existsSync(file) && statSync(file).size >= bytes) return readFileSync(file);
        await sleep(100);
      }
      return existsSync(file) ? readFileSync(file) : undefined;
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await gone;
    },
  };
};
