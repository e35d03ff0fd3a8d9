/*
 * USB benchmark on a real Linux USB stack (the USB rig: QEMU guest, dummy_hcd, FunctionFS), against
 * the same emulated Photon and timing model (core/sim, timeScale 1) for every host:
 *   ours / dfu-util      our engine over usb@3 vs dfu-util 0.11 (libusb), both without verify (goal <= 0.8)
 *   verify cost          ours with readback verify / without
 *   particle-usb / ours  particle-usb 4.1.0's DFU (usb@2, libusb) vs our engine, no verify
 * Image: a Photon system-part1 (~249 KB at 0x08020000) then a user part (0x080A0000): real binaries
 * from ../shared/fixtures when present, else generated with core/firmware's buildModule.
 *
 * `npm run bench -- usb` runs on the host: it boots the rig with this file as the guest entry and
 * prints the guest's table. Where the rig cannot run (not Linux/root/apt) it prints "skipped: ...".
 * Inside the guest (LINESTATION_RIG_GUEST=1) it does the measuring.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DfuSession, type FlashImage, writeImages } from '../core/dfu';
import { buildModule, parseModule } from '../core/firmware';
import { makeDeviceId } from '../core/sim/device';
import { NodeUsbTransport } from '../core/usb/node-usb';
import { DeviceServer } from '../test/usb-rig/guest/device-server';

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

interface Row {
  metric: string;
  measured: string;
  goal: string;
  pass: boolean | undefined;
}

// ---------------------------------------------------------------------------------------- host

const onHost = (): void => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const rigDir = process.env.LINESTATION_RIG_DIR ?? '/var/tmp/linestation-usb-rig';
  const scripts = join(root, 'scripts', 'usb-rig');
  const setup = spawnSync('bash', [join(scripts, 'setup.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const said = setup.stdout.toString();
  if (said.startsWith('skipped:')) {
    log(said.trim());
    return;
  }
  if (setup.status !== 0) throw new Error(`usb-rig setup failed (exit ${setup.status})`);
  const t0 = performance.now();
  const run = spawnSync('bash', [join(scripts, 'run.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      RIG_ENTRY: 'bench',
      RIG_DEVICES: '1',
      RIG_TIMEOUT: process.env.RIG_TIMEOUT ?? '900',
    },
  });
  const console = run.stdout.toString();
  const table = join(rigDir, 'out', 'bench.json');
  if (run.status !== 0 || !existsSync(table)) {
    process.stdout.write(console.slice(-4000));
    throw new Error(`the benchmark guest failed (exit ${run.status})`);
  }
  for (const line of console.split('\n')) if (line.startsWith('[bench]')) log(line.slice(8));
  const rows = JSON.parse(readFileSync(table, 'utf8')) as Row[];
  log('');
  log('| metric | measured | goal | pass |');
  log('|---|---|---|---|');
  for (const r of rows)
    log(
      `| ${r.metric} | ${r.measured} | ${r.goal} | ${r.pass === undefined ? '-' : r.pass ? 'pass' : 'MISS'} |`,
    );
  log(`(rig wall time ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
};

// --------------------------------------------------------------------------------------- guest

const REPEAT = Number(process.env.RIG_BENCH_REPEAT ?? 2);

const image = (
  fixtures: string,
  fixture: string,
  spec: Parameters<typeof buildModule>[0],
): FlashImage & { file: string } => {
  const path = join(fixtures, fixture);
  const data = existsSync(path) ? readFileSync(path) : Buffer.from(buildModule(spec));
  const parsed = parseModule(path, data);
  if (!parsed.ok) throw new Error(`${fixture}: ${parsed.error.message}`);
  const file = join('/tmp', fixture);
  writeFileSync(file, data);
  return { label: fixture, alt: 0, address: parsed.module.startAddress, data, file };
};

const time = async (f: () => Promise<void>): Promise<number> => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};

const best = async (f: () => Promise<number>): Promise<number> => {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < REPEAT; i++) min = Math.min(min, await f());
  return min;
};

const inGuest = async (): Promise<void> => {
  const rigDir = process.env.RIG_DIR ?? '/var/tmp/linestation-usb-rig';
  const repo = process.env.LINESTATION_REPO ?? process.cwd();
  const out = join(rigDir, 'out');
  const fixtures = resolve(repo, '..', 'shared', 'fixtures', 'particle-binaries');
  const id = makeDeviceId('usb-rig-bench');
  const server = await DeviceServer.start(
    join(rigDir, 'build', 'ffs-device.mjs'),
    { devices: [{ platform: 'photon', deviceId: id, mode: 'dfu', timeScale: 1 }] },
    openSync(join(out, 'device-server.log'), 'a'),
  );
  await new Promise((r) => setTimeout(r, 1500));
  const plan = [
    image(fixtures, '043_system-part1.bin', {
      platformId: 6,
      function: 'system',
      index: 1,
      bodySize: 248_000,
    }),
    image(fixtures, '043_user-part.bin', { platformId: 6, function: 'user', bodySize: 2048 }),
  ];
  const bytes = plan.reduce((n, p) => n + p.data.length, 0);
  log(
    `[bench] load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}; best of ${REPEAT}; ${plan.map((p) => `${p.label} ${p.data.length} B @0x${p.address.toString(16)}`).join(', ')}`,
  );

  const check = async (who: string): Promise<void> => {
    for (const p of plan) {
      const got = await server.readFlash(id, p.address, p.data.length);
      if (!got.equals(Buffer.from(p.data))) throw new Error(`${who} did not write ${p.label} correctly`);
    }
  };

  const transport = new NodeUsbTransport();
  // Every host is timed from finding the device to closing it, as dfu-util's run is (its process
  // start is included too; Node's is not, being paid once per station rather than per device).
  const ours = (verify: boolean) => async (): Promise<number> => {
    const ms = await time(async () => {
      const info = (await transport.list()).find((d) => d.serialNumber === id);
      if (!info) throw new Error('the emulated Photon is not on the bus');
      const session = await DfuSession.open(await transport.open(info));
      const r = await writeImages(session, plan, { verify, leave: false });
      await session.close();
      if (!r.ok) throw new Error(`our engine: ${r.error.code} ${r.error.message}`);
    });
    await check('our engine');
    return ms;
  };

  const dfuUtil = async (): Promise<number> => {
    const ms = await time(async () => {
      for (const p of plan) {
        const r = spawnSync('dfu-util', [
          '-d',
          '2b04:d006',
          '-S',
          id,
          '-a',
          '0',
          '-s',
          `0x${p.address.toString(16)}`,
          '-D',
          p.file,
        ]);
        if (r.status !== 0) throw new Error(`dfu-util: ${r.stderr.toString().slice(-300)}`);
      }
    });
    await check('dfu-util');
    return ms;
  };

  // particle-usb finds devices through its own usb@2 (libusb); loading it is not part of the flash.
  const particleUsb = createRequire(join(repo, 'package.json'))('particle-usb') as {
    getDevices(): Promise<
      {
        id: string;
        isInDfuMode: boolean;
        open(): Promise<void>;
        close(): Promise<void>;
        writeOverDfu(
          data: Buffer,
          o: { altSetting: number; startAddr: number; leave?: boolean },
        ): Promise<void>;
      }[]
    >;
  };
  const theirs = async (): Promise<number> => {
    const ms = await time(async () => {
      let dev: Awaited<ReturnType<typeof particleUsb.getDevices>>[number] | undefined;
      for (const d of await particleUsb.getDevices()) {
        await d.open();
        if (d.isInDfuMode && d.id === id) {
          dev = d;
          break;
        }
        await d.close();
      }
      if (!dev) throw new Error('particle-usb does not see the emulated Photon');
      for (const p of plan)
        await dev.writeOverDfu(Buffer.from(p.data), { altSetting: 0, startAddr: p.address });
      await dev.close();
    });
    await check('particle-usb');
    return ms;
  };

  // One host failing must not hide the others' figures: record its error instead.
  const errors: string[] = [];
  const attempt = async (who: string, f: () => Promise<number>): Promise<number> => {
    try {
      return await best(f);
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? ` (cause: ${e.cause.message})` : '';
      errors.push(`${who}: ${e instanceof Error ? e.message : String(e)}${cause}`);
      log(`[bench] ${who} failed: ${errors.at(-1)}`);
      return Number.NaN;
    }
  };
  const without = await attempt('ours', ours(false));
  const withVerify = await attempt('ours+verify', ours(true));
  const util = await attempt('dfu-util', dfuUtil);
  const pusb = await attempt('particle-usb', theirs);
  const s = (ms: number) => (Number.isNaN(ms) ? 'failed' : `${(ms / 1000).toFixed(2)} s`);
  const ratio = (a: number, b: number) => (Number.isNaN(a / b) ? 'n/a' : (a / b).toFixed(3));
  log(
    `[bench] ${(bytes / 1024).toFixed(0)} KB: ours ${s(without)}, ours+verify ${s(withVerify)}, dfu-util ${s(util)}, particle-usb ${s(pusb)}`,
  );
  const rows: Row[] = [
    {
      metric: 'ours / dfu-util (no verify)',
      measured: ratio(without, util),
      goal: '<= 0.8',
      pass: Number.isNaN(without / util) ? false : without / util <= 0.8,
    },
    {
      metric: 'ours with verify / without',
      measured: ratio(withVerify, without),
      goal: 'report',
      pass: undefined,
    },
    {
      metric: 'particle-usb / ours (no verify)',
      measured: ratio(pusb, without),
      goal: 'report',
      pass: undefined,
    },
    { metric: 'ours, no verify', measured: s(without), goal: '', pass: undefined },
    { metric: 'ours, verify', measured: s(withVerify), goal: '', pass: undefined },
    { metric: 'dfu-util, no verify', measured: s(util), goal: '', pass: undefined },
    { metric: 'particle-usb, no verify', measured: s(pusb), goal: '', pass: undefined },
    ...errors.map((e) => ({ metric: 'error', measured: e, goal: '', pass: false })),
  ];
  writeFileSync(join(out, 'bench.json'), `${JSON.stringify(rows, null, 2)}\n`);
  await server.stop();
};

if (process.env.LINESTATION_RIG_GUEST === '1')
  inGuest().then(
    () => process.exit(0),
    (e: unknown) => {
      log(`[bench] failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
else onHost();
