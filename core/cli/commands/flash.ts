import { resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import { type DfuProgress, type FlashImage, type FlashResult, flashDevice } from '../../dfu';
import type { LsError } from '../../errors/result';
import { inspectFile } from '../../firmware/inspect';
import { parseFileArgument } from '../../firmware/raw-file';
import type { InspectedFile } from '../../firmware/types';
import { flashPlan } from '../../firmware/validate-set';
import { confirmBackInNormalMode, enterDfuMode } from '../../particle';
import { type Platform, platformById, platformByName, platformByUsbId } from '../../platforms';
import { NodeUsbTransport } from '../../usb/node-usb';
import type { UsbDeviceInfo, UsbTransport } from '../../usb/transport';
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
 * Progress for people: a bar per phase and image on a terminal (cli-progress), plain lines in
 * logs and pipes, at most a few per second so a CI log stays readable.
 */
const progressPrinter = (io: CliIo) => {
  let bar: cliProgress.SingleBar | undefined;
  let key = '';
  let lastLine = 0;
  const onProgress = (p: DfuProgress) => {
    if (p.phase === 'leave') {
      bar?.stop();
      bar = undefined;
      key = 'leave';
      if (p.bytesDone === 0) io.err('Leaving DFU mode…');
      return;
    }
    const k = `${p.phase}:${p.label ?? ''}`;
    const speed = `${kb(p.bytesPerSecond)}/s`;
    if (io.isTTY) {
      if (k !== key) {
        bar?.stop();
        key = k;
        bar = new cliProgress.SingleBar(
          {
            format: `${p.phase.padEnd(8)} {label} [{bar}] {percentage}% | {done}/{total} | {speed} | ETA {eta_s}`,
            hideCursor: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.bytesTotal, p.bytesDone, {
          label: p.label ?? '',
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
    if (k === key && finished && p.bytesTotal === 0) return;
    key = k;
    lastLine = now;
    io.err(
      `${p.phase} ${p.label ?? ''}: ${kb(p.bytesDone)}/${kb(p.bytesTotal)} ${speed} ETA ${seconds(p.etaMs)}`,
    );
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

/**
 * Finds the one device to flash, by device ID (serial) or by port path. A device in normal mode is
 * asked to enter DFU mode (Particle control request) and awaited on the same port path.
 */
const pickDevice = async (
  io: CliIo,
  transport: UsbTransport,
  opts: FlashOptions,
): Promise<{ device: UsbDeviceInfo; platform: Platform }> => {
  const all = await transport.list();
  const particle = all.flatMap((d) => {
    const known = platformByUsbId(d.vendorId, d.productId);
    return known ? [{ d, ...known }] : [];
  });
  const wanted = opts.device?.toLowerCase();
  const match = particle.filter((p) => (wanted ? p.d.serialNumber === wanted : p.d.portPath === opts.port));
  const what = wanted ? `device ${wanted}` : `port ${opts.port}`;
  if (match.length === 0)
    return refuse(
      io,
      opts.json,
      {
        code: 'DEVICE_NOT_FOUND',
        message: `No Particle device found for ${what} (${particle.length} Particle device(s) attached).`,
        remedy: 'Check the cable; "linestation devices" lists what is attached.',
      },
      ExitCode.NotReady,
    );
  if (match.length > 1)
    return refuse(
      io,
      opts.json,
      {
        code: 'DEVICE_AMBIGUOUS',
        message: `More than one device matches ${what}.`,
        remedy: 'Select it with --port.',
      },
      ExitCode.Usage,
    );
  const [m] = match;
  if (!m) throw new Error('unreachable');
  if (m.mode !== 'dfu') {
    if (!opts.json) io.err(`Asking the ${m.platform.displayName} on ${m.d.portPath} to enter DFU mode…`);
    const entered = await enterDfuMode({ transport }, m.d, { timeoutMs: 30_000 });
    if (!entered.ok)
      return refuse(
        io,
        opts.json,
        {
          ...entered.error,
          remedy:
            entered.error.remedy ??
            'Put it in DFU mode by hand (hold MODE, tap RESET, release MODE when it blinks yellow).',
        },
        ExitCode.NotReady,
      );
    return { device: entered.value.device, platform: m.platform };
  }
  return { device: m.d, platform: m.platform };
};

interface BackInfo {
  ok: boolean;
  elapsedMs?: number;
  error?: LsError;
}

const resultJson = (
  result: FlashResult,
  device: UsbDeviceInfo,
  platform: Platform,
  simulated: boolean,
  back: BackInfo | undefined,
) => {
  const report = result.ok ? result.value : result.error.report;
  return {
    ok: result.ok,
    device: {
      id: device.serialNumber ?? null,
      portPath: device.portPath,
      platform: platform.name,
      simulated,
    },
    verified: report.verified,
    left: report.left,
    bytes: report.bytes,
    timings: report.timings,
    images: report.images,
    ...(back
      ? {
          backInNormalMode: back.ok,
          ...(back.elapsedMs === undefined ? {} : { reenumerationMs: Math.round(back.elapsedMs) }),
        }
      : {}),
    ...(!result.ok
      ? { error: errorJson(result.error) }
      : back?.error
        ? { error: errorJson(back.error) }
        : {}),
  };
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('flash')
    .description('flash firmware into one device over USB DFU, with readback verify (for engineers)')
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
    .option('--sim-mode <mode>', 'mode the simulated device starts in: dfu or normal', simMode, 'dfu')
    .option('--no-confirm', 'do not wait for the device to come back in normal mode after leaving DFU')
    .addHelpText(
      'after',
      '\nExit codes: 0 flashed (and verified unless --no-verify) and back in normal mode, 1 usage,\n2 refused (files), 3 device not found / cannot enter DFU mode / no USB, 4 flashing failed\n(a named DFU_*/USB_* error) or the device did not come back.',
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
      let device: UsbDeviceInfo;
      let platform: Platform;
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
        const picked = await pickDevice(io, bus, { ...opts, port: '1-1.1' });
        device = picked.device;
        platform = picked.platform;
      } else {
        transport = new NodeUsbTransport();
        const picked = await pickDevice(io, transport, opts).catch((e: unknown) => {
          if (e instanceof CliExit) throw e;
          const error =
            e && typeof e === 'object' && 'error' in e ? (e as { error: LsError }).error : undefined;
          return refuse(io, opts.json, error ?? { code: 'USB_IO', message: String(e) }, ExitCode.NotReady);
        });
        device = picked.device;
        platform = picked.platform;
        if (filePlatform && filePlatform.id !== platform.id)
          refuse(
            io,
            opts.json,
            {
              code: 'FIRMWARE_WRONG_PLATFORM',
              message: `The files are for ${filePlatform.name}, but the device on ${device.portPath} is a ${platform.name}.`,
            },
            ExitCode.Refused,
          );
      }

      const plan: FlashImage[] = flashPlan(
        files.flatMap((f) => f.images),
        { platformId: platform.id, productId: 0, mode: 'flash-on-line' },
      );
      const progress = opts.json ? undefined : progressPrinter(io);
      let result: FlashResult;
      let back: BackInfo | undefined;
      try {
        try {
          result = await flashDevice({ transport, device }, plan, {
            verify: opts.verify,
            timeoutMs: opts.timeout,
            ...(progress ? { onProgress: progress.onProgress } : {}),
          });
        } finally {
          progress?.stop();
        }
        // The job is done when the device runs the new firmware: same port, same ID, normal mode.
        if (result.ok && result.value.left && opts.confirm) {
          const confirmed = await confirmBackInNormalMode(
            { transport },
            { portPath: device.portPath, deviceId: device.serialNumber, dfuKey: device.key },
            { timeoutMs: 60_000 },
          );
          back = confirmed.ok
            ? { ok: true, elapsedMs: confirmed.value.elapsedMs }
            : { ok: false, error: confirmed.error };
        }
      } finally {
        dispose();
      }
      if (opts.json) printJson(io, resultJson(result, device, platform, Boolean(opts.simulate), back));
      else if (result.ok) {
        const r = result.value;
        const t = r.timings;
        io.out(
          `${r.verified ? 'Flashed and verified' : 'Flashed (NOT verified)'} ${plan.length} image(s), ${kb(r.bytes)} on ${platform.displayName} ${device.serialNumber ?? ''} (${device.portPath}) in ${seconds(t.totalMs)}: erase ${seconds(t.eraseMs)}, download ${seconds(t.downloadMs)}, verify ${seconds(t.verifyMs)}, leave ${seconds(t.leaveMs)}.`,
        );
        if (back?.ok) io.out(`Back in normal mode after ${seconds(back.elapsedMs)}.`);
        if (back?.error)
          io.err(
            `linestation: ${back.error.code}: ${back.error.message}${back.error.remedy ? ` ${back.error.remedy}` : ''}`,
          );
      } else {
        const e = result.error;
        io.err(`linestation: ${e.code}: ${e.message}${e.remedy ? ` ${e.remedy}` : ''}`);
        const written = e.report.images.filter((i) => i.written).map((i) => i.label);
        if (written.length > 0) io.err(`Written before the failure: ${written.join(', ')}.`);
      }
      if (!result.ok || back?.ok === false) throw new CliExit(ExitCode.Failed);
    });
};
