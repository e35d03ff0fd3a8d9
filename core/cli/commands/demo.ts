import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startMockCloud } from '../../cloud/mock-server';
import { startLineDemo } from '../../demo/line-demo';
import { platformByName } from '../../platforms/lookup';
import { simCloudKeys, simDeviceKeys } from '../../sim/index';
import { DEMO_PRODUCT_ID, DEMO_TOKEN_ENV, writeDemoProduct } from '../../station/demo-setup';
import { openStationLog } from '../../station/report';
import { exportToFile } from '../../store/export';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo } from '../io';
import { untilStopped } from '../until-stopped';
import type { RegisterCommand } from './index';
import { runStation } from './run';

interface DemoOptions {
  dataDir: string;
  devices: number;
  timeScale: number;
  platform: string;
  wholeSet?: boolean;
  protected?: boolean;
  json?: boolean;
  line?: boolean;
  port?: number;
}

/** `demo --line`: three stations, a temporary line database and the supervisor page, until Ctrl-C. */
const lineDemo = async (io: CliIo, dir: string, opts: DemoOptions): Promise<void> => {
  const demo = await startLineDemo({
    dir: join(dir, 'line'),
    timeScale: opts.timeScale,
    port: opts.port,
    say: (l) => io.out(`Demo: ${l}`),
  });
  if (!demo.ok) {
    io.err(
      `linestation: ${demo.error.code}: ${demo.error.message}${demo.error.remedy ? ` ${demo.error.remedy}` : ''}`,
    );
    throw new CliExit(ExitCode.NotReady);
  }
  if (opts.json)
    io.out(JSON.stringify({ type: 'demo-line', url: demo.value.url, database: demo.value.database }));
  io.out(`Supervisor view: ${demo.value.url}`);
  io.out('Ctrl-C stops the stations, the page and the temporary database.');
  await untilStopped();
  io.out('Demo: stopping…');
  await demo.value.stop();
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('demo')
    .description(
      'run a simulated batch of 8 end to end (demo firmware, locked profile, local mock cloud) and export it',
    )
    .option(
      '--data-dir <dir>',
      'where the demo keeps its profile, firmware, log and export',
      './.linestation/demo',
    )
    .option('--devices <n>', 'how many simulated devices', (v) => Number.parseInt(v, 10), 8)
    .option('--time-scale <x>', 'simulated timing scale (1 = real time)', Number, 0.05)
    .option('--platform <name>', 'the product platform (default boron)', 'boron')
    .option(
      '--whole-set',
      'a whole Device OS 6.3.0 set (bootloader, SoftDevice, system part, application) instead of the application alone',
    )
    .option(
      '--protected',
      'the product has Device Protection and the devices arrive protected: each goes through Service Mode',
    )
    .option('--json', 'JSON lines instead of text')
    .option(
      '--line',
      'a whole line instead: a temporary PostgreSQL, three simulated stations forwarding to it and the supervisor page, until Ctrl-C',
    )
    .option('--port <n>', 'with --line: the supervisor page port (default any free one)', (v) =>
      Number.parseInt(v, 10),
    )
    .action(async (opts: DemoOptions) => {
      const dir = resolve(io.cwd, opts.dataDir);
      mkdirSync(dir, { recursive: true });
      if (opts.line) return lineDemo(io, dir, opts);
      const platform = platformByName(opts.platform);
      if (!platform) {
        io.err(`linestation: DEMO_PLATFORM: Unknown platform ${opts.platform}.`);
        throw new CliExit(ExitCode.Usage);
      }
      const cloud = await startMockCloud({
        host: '127.0.0.1',
        port: 0,
        products: [
          {
            id: DEMO_PRODUCT_ID,
            slug: 'demo-widget',
            platformId: platform.id,
            releasedFirmware: 3,
            deviceProtection: opts.protected === true,
          },
        ],
        // The demo's devices are simulated: the cloud knows their keys, and they trust its key.
        simulatedDevices: { publicKeyFor: (id) => simDeviceKeys(id).publicKey },
        protectionKey: simCloudKeys().privateKey,
      });
      try {
        const setup = await writeDemoProduct(dir, cloud.url, {
          platform: platform.name,
          ...(opts.wholeSet ? { wholeSet: true } : {}),
          ...(opts.protected ? { deviceProtection: true } : {}),
        });
        if (!setup.ok) {
          io.err(`linestation: ${setup.error.code}: ${setup.error.message}`);
          throw new CliExit(ExitCode.NotReady);
        }
        cloud.addToken(setup.value.token);
        const lot = `DEMO-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}`;
        if (!opts.json) {
          io.out(`Demo: firmware ${setup.value.firmwarePaths.join(', ')}`);
          io.out(
            `Demo: profile ${setup.value.profilePath} (locked ${setup.value.profileHash.slice(0, 12)}…)`,
          );
          io.out(`Demo: mock Particle Cloud at ${cloud.url}`);
        }
        const code = await runStation(
          { ...io, env: { ...io.env, [DEMO_TOKEN_ENV]: setup.value.token } },
          {
            profile: setup.value.profilePath,
            batch: lot,
            operator: 'demo',
            station: 'demo-station',
            dataDir: dir,
            simulate: opts.devices,
            timeScale: opts.timeScale,
            ...(opts.protected ? { simProtected: true } : {}),
            accept: [],
            json: opts.json,
          },
        );
        const { log } = openStationLog(dir, io.env);
        try {
          const exports = join(dir, 'exports');
          mkdirSync(exports, { recursive: true });
          const csv = join(exports, `${lot}.csv`);
          const rows = exportToFile(log, lot, 'csv', csv);
          const imported = cloud.devices(DEMO_PRODUCT_ID).length;
          if (opts.json) io.out(JSON.stringify({ type: 'demo', lot, csv, rows, cloudDevices: imported }));
          else {
            io.out(`Demo: the mock cloud now lists ${imported} device(s) in product ${DEMO_PRODUCT_ID}.`);
            io.out(`Demo: exported ${rows} attempt(s) to ${csv}`);
            io.out(`Next: linestation batch show ${lot} --data-dir ${opts.dataDir}`);
          }
        } finally {
          log.close();
        }
        if (code !== ExitCode.Ok) throw new CliExit(code as ExitCode);
      } finally {
        await cloud.close();
      }
    });
};
