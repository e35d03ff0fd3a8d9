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
  /** Know every simulated device (its key, and as a member of a protected product) and sign as the simulator's cloud. */
  simulatedDevices?: boolean;
  /** The product has Device Protection active. */
  deviceProtection?: boolean;
  /** Enforce a rate limit like Particle's per-IP one. */
  rateLimit?: { requests: number; windowMs: number };
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
  // Only when asked to serve simulated devices is core/sim loaded (loaded on demand).
  const sim = opts.simulatedDevices ? await import('../../sim/index') : undefined;
  const mock = await startMockCloud({
    ...(opts.port === undefined ? {} : { port: opts.port }),
    products: [
      {
        id: product,
        ...(opts.releasedFirmware === undefined ? {} : { releasedFirmware: opts.releasedFirmware }),
        ...(opts.deviceProtection ? { deviceProtection: true } : {}),
      },
    ],
    tokens: [{ token }],
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
    ...(sim
      ? {
          simulatedDevices: {
            publicKeyFor: (id: string) => sim.simDeviceKeys(id).publicKey,
            // The SIM a simulated cellular device reports, so import_sims imports it.
            iccidFor: (id: string) => sim.simCellularIds(id).iccid,
          },
          // The key every simulated device trusts for Service Mode.
          protectionKey: sim.simCloudKeys().privateKey,
        }
      : {}),
  });
  io.out(`Mock Particle Cloud listening on ${mock.url}`);
  io.out(
    `  product ${product}${opts.deviceProtection ? ' (Device Protection active)' : ''}; token ${token}; faults ${opts.faults || 'none'}`,
  );
  if (sim)
    io.out(
      '  knows every simulated device (linestation run --simulate): its key, for Service Mode, and its SIM',
    );
  if (opts.rateLimit)
    io.out(
      `  rate limit: ${opts.rateLimit.requests} requests per ${opts.rateLimit.windowMs / 1000} s (429 with Retry-After beyond)`,
    );
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

/** `10000/300`: requests per seconds. */
const rateLimit = (v: string): { requests: number; windowMs: number } => {
  const m = /^(\d+)\/(\d+(?:\.\d+)?)$/.exec(v.trim());
  const requests = Number(m?.[1]);
  const seconds = Number(m?.[2]);
  if (!m || requests < 1 || !(seconds > 0))
    throw new InvalidArgumentError(
      'must be REQUESTS/SECONDS, e.g. 10000/300 (Particle: 10,000 per 5 minutes).',
    );
  return { requests, windowMs: seconds * 1000 };
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
    .option(
      '--simulated-devices',
      "know every simulated device's key (linestation run --simulate) and sign Service Mode as the cloud they trust",
    )
    .option('--device-protection', 'the product has Device Protection active (Service Mode for its devices)')
    .option(
      '--rate-limit <requests/seconds>',
      "enforce a rate limit like Particle's per-IP one, e.g. 10000/300 (429 with Retry-After beyond)",
      rateLimit,
    )
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
