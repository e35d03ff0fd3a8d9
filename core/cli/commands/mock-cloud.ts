import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from 'commander';
import { parseFaultSpec } from '../../cloud/mock-faults';
import { type MockCloud, startMockCloud } from '../../cloud/mock-server';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo } from '../io';
import type { RegisterCommand } from './index';

export interface MockCloudCliOptions {
  port?: number;
  product?: number;
  token?: string;
  faults?: string;
  releasedFirmware?: number;
}

/**
 * Starts the mock cloud and resolves once it is listening; `until` ends it. Split from the
 * command so tests can run it without signals.
 */
export const runMockCloud = async (
  opts: MockCloudCliOptions,
  io: CliIo,
  until: AbortSignal,
): Promise<{ mock: MockCloud; closed: Promise<void> }> => {
  if (opts.faults) {
    const r = parseFaultSpec(opts.faults);
    if (!r.ok) {
      io.err(`linestation: ${r.error.code}: ${r.error.message} ${r.error.remedy ?? ''}`.trimEnd());
      throw new CliExit(ExitCode.Usage);
    }
  }
  const product = opts.product ?? 1000;
  // The mock's token is a demo credential, not a Particle one: printing it is what makes it usable.
  const token = opts.token ?? io.env.MOCK_CLOUD_TOKEN ?? `mock_${randomBytes(8).toString('hex')}`;
  const mock = await startMockCloud({
    ...(opts.port === undefined ? {} : { port: opts.port }),
    products: [
      {
        id: product,
        ...(opts.releasedFirmware === undefined ? {} : { releasedFirmware: opts.releasedFirmware }),
      },
    ],
    tokens: [{ token }],
    ...(opts.faults ? { faults: opts.faults } : {}),
  });
  io.out(`Mock Particle Cloud listening on ${mock.url}`);
  io.out(`  product ${product}; token ${token}; faults ${opts.faults || 'none'}`);
  io.out(`  change faults: curl -X POST ${mock.url}/__admin/faults -d '{"spec":"500:0.2,429:0.1"}'`);
  io.out(`  request log:   curl ${mock.url}/__admin/requests`);
  io.out('  Ctrl+C to stop.');
  const closed = new Promise<void>((resolve) => {
    const stop = () => void mock.close().then(resolve);
    if (until.aborted) stop();
    else until.addEventListener('abort', stop, { once: true });
  });
  return { mock, closed };
};

const int = (what: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`${what} must be ${min}..${max}.`);
  return n;
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('mock-cloud')
    .description('run a mock Particle Cloud on 127.0.0.1 for demos and tests (until Ctrl+C)')
    .option('--port <n>', 'port (default: a free one)', int('port', 0, 65535))
    .option('--product <id>', 'product ID to serve (default 1000)', int('product', 1, 2 ** 31))
    .option('--token <token>', 'the mock token to accept (default: $MOCK_CLOUD_TOKEN, else a random one)')
    .option('--faults <spec>', 'fault spec, e.g. 500:0.2,429:0.1,timeout:0.05,drop:0.05,seed=7')
    .option('--released-firmware <version>', 'seed a released default firmware', int('version', 1, 65535))
    .action(async (opts: MockCloudCliOptions) => {
      const ac = new AbortController();
      const stop = () => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const { closed } = await runMockCloud(opts, io, ac.signal);
      await closed;
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    });
};
