import { join } from 'node:path';
import type { CliIo } from '../../core/cli/io';
import { runCli } from '../../core/cli/main';
import { startMockCloud } from '../../core/cloud/mock-server';
import { DEMO_PRODUCT_ID, DEMO_TOKEN_ENV, writeDemoProduct } from '../../core/station/demo-setup';
import { tempDir } from '../store/helpers';

export const captureIo = (env: NodeJS.ProcessEnv = {}, isTTY = false) => {
  const out: string[] = [];
  const errs: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => errs.push(l),
    isTTY,
    env: { ...process.env, ...env },
    cwd: process.cwd(),
  };
  return { io, out, errs };
};

/** A locked demo product, a mock cloud that knows its token, and a data dir: a station ready to run. */
export const cliRig = async (options: { slots?: number; mode?: 'flash-on-line' | 'ota-on-setup' } = {}) => {
  const dir = tempDir('ls-cli-');
  const cloud = await startMockCloud({
    host: '127.0.0.1',
    port: 0,
    products: [{ id: DEMO_PRODUCT_ID, slug: 'demo-widget', platformId: 13, releasedFirmware: 3 }],
  });
  const setup = await writeDemoProduct(join(dir, 'product'), cloud.url, {
    slots: options.slots ?? 4,
    bodySize: 8192,
    ...(options.mode ? { mode: options.mode } : {}),
  });
  if (!setup.ok) throw new Error(setup.error.message);
  cloud.addToken(setup.value.token);
  const env = { [DEMO_TOKEN_ENV]: setup.value.token };
  const dataDir = join(dir, 'data');
  const cli = async (args: string[], tty = false) => {
    const c = captureIo(env, tty);
    const code = await runCli(args, c.io);
    return { code, out: c.out, err: c.errs };
  };
  return { dir, dataDir, cloud, setup: setup.value, env, cli };
};

/** `linestation run` on a cliRig: its profile and data dir, a fast simulated clock, a fixed operator and station. */
export const runArgs = (
  r: { setup: { profilePath: string }; dataDir: string },
  lot: string,
  extra: string[] = [],
): string[] => [
  'run',
  '--profile',
  r.setup.profilePath,
  '--batch',
  lot,
  '--data-dir',
  r.dataDir,
  '--time-scale',
  '0.002',
  '--operator',
  'ana',
  '--station',
  'line-1',
  ...extra,
];
