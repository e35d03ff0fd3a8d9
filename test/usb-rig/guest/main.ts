import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeDeviceId } from '../../../core/sim/device';
import type { ServerConfig } from '../../../core/sim/functionfs/protocol';
import { cliChecks } from './checks-cli';
import { dfuUtilChecks } from './checks-dfu-util';
import { usbChecks } from './checks-usb';
import type { RigContext } from './context';
import { DeviceServer } from './device-server';
import { log, runChecks } from './harness';

/*
 * The guest's test entry (bundled to <rig dir>/build/guest.mjs by scripts/usb-rig/bundle.mjs and run
 * by guest-init.sh as root inside the QEMU guest). Starts the FunctionFS device server with an
 * emulated Photon and Boron in DFU mode, runs the checks, and exits with the number that failed.
 */

const rigDir = process.env.RIG_DIR ?? '/var/tmp/linestation-usb-rig';
const repo = process.env.LINESTATION_REPO ?? process.cwd();
const out = join(rigDir, 'out');
const build = join(rigDir, 'build');
mkdirSync(out, { recursive: true });

const only = existsSync(join(out, 'checks.txt'))
  ? readFileSync(join(out, 'checks.txt'), 'utf8')
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
  : [];

const cliPath = join(build, 'cli.mjs');
const cliErrorPath = join(build, 'cli.error.txt');

const main = async (): Promise<number> => {
  const photon = makeDeviceId('usb-rig-photon');
  const boron = makeDeviceId('usb-rig-boron');
  const serverLog = openSync(join(out, 'device-server.log'), 'a');
  const startServer = (config: ServerConfig) =>
    DeviceServer.start(join(build, 'ffs-device.mjs'), config, serverLog);
  log('starting the FunctionFS device server (photon + boron, DFU mode)');
  const server = await startServer({
    devices: [
      { platform: 'photon', deviceId: photon, mode: 'dfu', timeScale: 0.05 },
      // Real device timing: the whole-set check sees START pending while the OTA area erases.
      { platform: 'boron', deviceId: boron, mode: 'dfu', timeScale: 1 },
    ],
  });
  // Let the host side enumerate both devices (usbfs nodes, udev) before the first check.
  await new Promise((r) => setTimeout(r, 1500));
  log(
    `devices up: ${(await server.status()).map((d) => `${d.platform} ${d.deviceId} ${d.udc} pid=${d.productId.toString(16)}`).join('; ')}`,
  );
  const ctx: RigContext = {
    server,
    startServer,
    repo,
    out,
    node: process.execPath,
    cli: existsSync(cliPath) ? cliPath : undefined,
    cliError: existsSync(cliErrorPath) ? readFileSync(cliErrorPath, 'utf8') : undefined,
    photon,
    boron,
    fixtures: resolve(repo, '..', 'shared', 'fixtures', 'particle-binaries'),
  };
  const results = await runChecks([...dfuUtilChecks, ...usbChecks, ...cliChecks], ctx, only, out);
  await ctx.server.stop();
  const failed = results.filter((r) => r.outcome === 'fail').length;
  log(`${results.length - failed} passed, ${failed} failed`);
  return failed;
};

main().then(
  (failed) => {
    log('exiting');
    process.exit(Math.min(failed, 99));
  },
  (e: unknown) => {
    log(`guest entry crashed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(100);
  },
);
