import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import type { WriteFailure } from '../../dfu/write-images';
import type { LsError } from '../../errors/result';
import { inspectFile } from '../../firmware/inspect';
import { planSummary, stepLine } from '../../firmware/plan-text';
import { parseFileArgument } from '../../firmware/raw-file';
import type { InspectedFile, SetPlan } from '../../firmware/types';
import { type FlashOneFailure, type FlashOneResult, flashOneDevice } from '../../install/flash-one';
import type { InstallProgress, InstallRunner } from '../../install/types';
import { type Platform, platformById, platformByName } from '../../platforms';
import { NodeUsbTransport } from '../../usb/node-usb';
import type { UsbTransport } from '../../usb/transport';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import { nonNegativeNumber } from '../options';
import type { RegisterCommand } from './index';

interface FlashOptions {
  simulate?: boolean;
  platform?: string;
  device?: string;
  port?: string;
  verify: boolean;
  json?: boolean;
  timeout: number;
  simTimeScale: number;
  simMode: 'dfu' | 'normal';
  confirm: boolean;
  skipCurrent?: boolean;
  setupDone: boolean;
  deviceOs?: number;
}

const simMode = (value: string): 'dfu' | 'normal' => {
  if (value !== 'dfu' && value !== 'normal') throw new InvalidArgumentError('must be dfu or normal.');
  return value;
};

const errorJson = (e: LsError) => ({
  code: e.code,
  message: e.message,
  ...(e.remedy ? { remedy: e.remedy } : {}),
  ...(e.details ? { details: e.details } : {}),
});

/** A refusal before anything touched a device: print it and end with `code`. */
const refuse = (io: CliIo, json: boolean | undefined, error: LsError, code: ExitCode): never => {
  if (json) printJson(io, { ok: false, error: errorJson(error) });
  else io.err(`linestation: ${error.code}: ${error.message}${error.remedy ? ` ${error.remedy}` : ''}`);
  throw new CliExit(code);
};

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
const seconds = (ms: number | undefined): string => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)}s`);

/**
 * Progress for people: a bar per module and phase on a terminal (cli-progress), plain lines in
 * logs and pipes, at most a few per second so a CI log stays readable. Phases without bytes
 * (a device applying NCP firmware, rebooting) print their line with the time they usually take,
 * so a long wait never looks like a hang.
 */
const progressPrinter = (io: CliIo) => {
  let bar: cliProgress.SingleBar | undefined;
  let key = '';
  let lastLine = 0;
  const onProgress = (p: InstallProgress) => {
    const k = p.phase ?? '';
    const speed = `${kb(p.bytesPerSecond ?? 0)}/s`;
    if (p.bytesTotal === 0) {
      if (k === key) return;
      bar?.stop();
      bar = undefined;
      key = k;
      io.err(`${k}${p.expectedMs ? ` (usually ~${seconds(p.expectedMs)})` : ''}…`);
      return;
    }
    if (io.isTTY) {
      if (k !== key) {
        bar?.stop();
        key = k;
        bar = new cliProgress.SingleBar(
          {
            format: `{label} [{bar}] {percentage}% | {done}/{total} | {speed} | ETA {eta_s}`,
            hideCursor: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.bytesTotal, p.bytesDone, {
          label: k,
          done: kb(p.bytesDone),
          total: kb(p.bytesTotal),
          speed,
          eta_s: seconds(p.etaMs),
        });
      }
      bar?.update(p.bytesDone, { done: kb(p.bytesDone), speed, eta_s: seconds(p.etaMs) });
      return;
    }
    const now = performance.now();
    const finished = p.bytesDone >= p.bytesTotal;
    if (k === key && !finished && now - lastLine < 500) return;
    key = k;
    lastLine = now;
    io.err(`${k}: ${kb(p.bytesDone)}/${kb(p.bytesTotal)} ${speed} ETA ${seconds(p.etaMs)}`);
  };
  return { onProgress, stop: () => bar?.stop() };
};

/** Reads and checks every file; the platform comes from the modules unless --platform says it. */
const loadFiles = async (
  io: CliIo,
  args: readonly string[],
  opts: FlashOptions,
): Promise<{ files: InspectedFile[]; platform: Platform | undefined }> => {
  const files: InspectedFile[] = [];
  for (const arg of args) {
    const parsed = parseFileArgument(arg);
    if (!parsed.ok) refuse(io, opts.json, parsed.error, ExitCode.Usage);
    const { path, rawAddress } = parsed.ok ? parsed.value : { path: arg, rawAddress: undefined };
    const file = await inspectFile(resolve(io.cwd, path), {
      name: path,
      ...(rawAddress === undefined ? {} : { rawAddress }),
    });
    if (file.error) refuse(io, opts.json, file.error, ExitCode.Refused);
    files.push(file);
  }
  const ids = new Set(files.flatMap((f) => (f.module ? [f.module.platformId] : [])));
  let platform: Platform | undefined;
  if (opts.platform) {
    platform = platformByName(opts.platform);
    if (!platform)
      refuse(
        io,
        opts.json,
        { code: 'UNKNOWN_PLATFORM', message: `"${opts.platform}" is not a Particle platform.` },
        ExitCode.Usage,
      );
  }
  if (ids.size > 1)
    refuse(
      io,
      opts.json,
      {
        code: 'FIRMWARE_MIXED_PLATFORMS',
        message: `The files are for different platforms (${[...ids].join(', ')}).`,
      },
      ExitCode.Refused,
    );
  const [fileId] = [...ids];
  if (fileId !== undefined) {
    if (platform && platform.id !== fileId)
      refuse(
        io,
        opts.json,
        {
          code: 'FIRMWARE_WRONG_PLATFORM',
          message: `The files are for platform ${platformById(fileId)?.name ?? fileId}, not ${platform.name}.`,
        },
        ExitCode.Refused,
      );
    platform = platform ?? platformById(fileId);
  }
  return { files, platform };
};

const planJson = (plan: SetPlan) => ({
  steps: plan.steps.map((st) => ({
    path: st.path,
    kind: st.kind,
    label: st.image.label,
    bytes: st.image.data.length,
    expectedMs: Math.round(st.expectedMs),
    ...(st.skip ? { skip: st.skip } : {}),
  })),
  expectedMs: Math.round(plan.expectedMs),
});

/** The JSON result: the DFU engine's report (timings, images) plus each module's path and outcome. */
const resultJson = (r: FlashOneResult, simulated: boolean, verify: boolean, confirmed: boolean) => ({
  ok: true,
  device: { id: r.deviceId, portPath: r.found.portPath, platform: r.platform.name, simulated },
  verified: verify,
  left: true,
  bytes: r.dfu?.bytes ?? 0,
  timings: r.dfu?.timings ?? { eraseMs: 0, downloadMs: 0, verifyMs: 0, leaveMs: 0, totalMs: 0 },
  images: r.dfu?.images ?? [],
  plan: planJson(r.plan),
  modules: r.moduleSteps,
  ...(r.setupDone ? { setupDone: r.setupDone } : {}),
  ...(confirmed
    ? {
        backInNormalMode: true,
        ...(r.reenumerationMs === undefined ? {} : { reenumerationMs: Math.round(r.reenumerationMs) }),
      }
    : {}),
});

const failureJson = (e: FlashOneFailure, simulated: boolean) => {
  const report = (e as Partial<WriteFailure>).report;
  return {
    ok: false,
    ...(e.found
      ? {
          device: {
            id: e.found.serialNumber ?? null,
            portPath: e.found.portPath,
            platform: e.platform?.name ?? null,
            simulated,
          },
        }
      : {}),
    verified: false,
    left: report?.left ?? false,
    bytes: report?.bytes ?? 0,
    ...(report ? { timings: report.timings, images: report.images } : {}),
    ...(e.plan ? { plan: planJson(e.plan) } : {}),
    error: errorJson(e),
  };
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('flash')
    .description(
      'install a firmware set on one device: normal-mode modules (bootloader, NCP) and DFU modules with readback verify, any platform; prints the plan first (for engineers)',
    )
    .argument('<files...>', 'module binaries, .dfu files, or raw images as FILE@0xADDRESS')
    .option('--simulate', 'flash a simulated device instead of a real one')
    .option('--platform <name>', 'platform of the simulated device (default: from the files)')
    .option('--device <id>', 'the device ID (USB serial) of the device to flash')
    .option('--port <path>', 'the USB port path of the device to flash, e.g. 1-2.3')
    .option('--no-verify', 'skip the readback verify (the result is then not verified)')
    .option('--json', 'print the result as JSON')
    .option('--timeout <ms>', 'overall limit for the whole flash', nonNegativeNumber, 10 * 60_000)
    .option(
      '--sim-time-scale <n>',
      'simulated device speed: 1 = real timing, 0 = instant',
      nonNegativeNumber,
      1,
    )
    .option('--sim-mode <mode>', 'mode the simulated device starts in: normal or dfu', simMode, 'normal')
    .option(
      '--device-os <version>',
      'module version of the Device OS the device runs (e.g. 6201), for a device in DFU mode that cannot say',
      nonNegativeNumber,
    )
    .option('--no-confirm', 'do not wait for the device to come back in normal mode after leaving DFU')
    .option(
      '--skip-current',
      'write nothing the device already runs (same version and SHA-256); still verified',
    )
    .option('--no-setup-done', 'do not mark a Gen 3 device on Device OS < 4.0 as set up')
    .addHelpText(
      'after',
      '\nExit codes: 0 installed (and verified unless --no-verify) and back in normal mode, 1 usage,\n2 refused before anything was written (files, plan, protected device), 3 device not found / no USB,\n4 installing failed (a named DEVICE_*/DFU_*/USB_* error) or the device did not come back.',
    )
    .action(async (args: string[], opts: FlashOptions) => {
      const targets = [opts.simulate, opts.device, opts.port].filter(Boolean).length;
      if (targets !== 1)
        refuse(
          io,
          opts.json,
          {
            code: 'USAGE',
            message: 'Say which device to flash: exactly one of --simulate, --device ID or --port PATH.',
          },
          ExitCode.Usage,
        );
      if (opts.platform && !opts.simulate)
        refuse(
          io,
          opts.json,
          { code: 'USAGE', message: '--platform only applies with --simulate.' },
          ExitCode.Usage,
        );
      const { files, platform: filePlatform } = await loadFiles(io, args, opts);

      let transport: UsbTransport;
      let dispose: () => void = () => undefined;
      let select: { deviceId?: string; portPath?: string } = { deviceId: opts.device, portPath: opts.port };
      if (opts.simulate) {
        if (!filePlatform)
          return refuse(
            io,
            opts.json,
            { code: 'USAGE', message: 'Raw images carry no platform: add --platform NAME.' },
            ExitCode.Usage,
          );
        // Only the CLI, when asked to simulate, reaches into core/sim (loaded on demand).
        const { SimBus, SimDevice } = await import('../../sim');
        const bus = new SimBus();
        bus.plug(
          new SimDevice({
            platform: filePlatform,
            mode: opts.simMode,
            seed: 'cli',
            timeScale: opts.simTimeScale,
          }),
          '1-1.1',
        );
        transport = bus;
        dispose = () => bus.dispose();
        select = { portPath: '1-1.1' };
      } else transport = new NodeUsbTransport();

      const progress = opts.json ? undefined : progressPrinter(io);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('timeout')), opts.timeout);
      // The phases as the core runs them; the CLI only prints (the station logs them instead).
      const runner: InstallRunner = {
        phase: (name, fn) => {
          if (!opts.json && name === 'ensure-dfu') io.err('Asking the device to enter DFU mode…');
          if (!opts.json && name === 'confirm') io.err('Waiting for the device to come back in normal mode…');
          return fn({ signal: controller.signal, onProgress: (p) => progress?.onProgress(p) });
        },
      };
      let result: Awaited<ReturnType<typeof flashOneDevice>>;
      try {
        result = await flashOneDevice(
          {
            transport,
            select,
            files,
            skipWhenCurrent: opts.skipCurrent,
            deviceOsVersion: opts.deviceOs,
            signal: controller.signal,
            install: { verify: opts.verify, setupDone: opts.setupDone, confirmReturn: opts.confirm },
            onPlan: (plan, device, platform, unchecked) => {
              if (opts.json) return;
              for (const u of unchecked)
                io.err(
                  `Not checked before writing: ${u.message} (a device in DFU mode cannot list what it runs; it checks each module at boot, and the confirm step reads them back. --device-os N checks it now.)`,
                );
              io.err(
                `Plan for the ${platform.displayName} ${device.serialNumber ?? ''} on ${device.portPath}: ${planSummary(plan)}`,
              );
              plan.steps.forEach((st, i) => {
                io.err(`  ${stepLine(st, i + 1)}`);
              });
            },
          },
          runner,
        );
      } finally {
        clearTimeout(timer);
        progress?.stop();
        dispose();
      }
      if (!result.ok) {
        const e = result.error as FlashOneFailure;
        const beforeDevice = !e.found || e.code === 'DEVICE_PROTECTED' || e.code.startsWith('FIRMWARE_');
        if (opts.json) printJson(io, failureJson(e, Boolean(opts.simulate)));
        else io.err(`linestation: ${e.code}: ${e.message}${e.remedy ? ` ${e.remedy}` : ''}`);
        if (!e.found)
          throw new CliExit(/^(USB_|DEVICE_NOT_FOUND)/.test(e.code) ? ExitCode.NotReady : ExitCode.Usage);
        throw new CliExit(beforeDevice ? ExitCode.Refused : ExitCode.Failed);
      }
      const r = result.value;
      if (opts.json) printJson(io, resultJson(r, Boolean(opts.simulate), opts.verify, opts.confirm));
      else {
        const t = r.dfu?.timings;
        const written = r.moduleSteps.filter((m) => m.outcome === 'written').length;
        const current = r.moduleSteps.filter((m) => m.outcome !== 'written').length;
        io.out(
          `${opts.verify ? 'Flashed and verified' : 'Flashed (NOT verified)'} ${written} image(s)${current ? ` (${current} already current)` : ''}, ${kb(r.dfu?.bytes ?? 0)} over DFU on ${r.platform.displayName} ${r.deviceId} (${r.found.portPath})${t ? ` in ${seconds(t.totalMs)}: erase ${seconds(t.eraseMs)}, download ${seconds(t.downloadMs)}, verify ${seconds(t.verifyMs)}, leave ${seconds(t.leaveMs)}` : ''}.`,
        );
        for (const m of r.moduleSteps)
          io.out(`  ${m.name}: ${m.path === 'dfu' ? 'DFU' : 'normal mode'}, ${m.outcome}`);
        if (opts.confirm) io.out(`Back in normal mode after ${seconds(r.reenumerationMs)}.`);
        if (r.setupDone) io.out(`Setup done: ${r.setupDone}.`);
      }
    });
};
