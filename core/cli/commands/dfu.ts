import { type LsError, toLsError } from '../../errors/result';
import { type EnteredDfu, enterDfuMode } from '../../particle/mode-switch';
import { normalizeDeviceId, recognise } from '../../usb/identity';
import { comparePortPaths } from '../../usb/slots';
import type { UsbDeviceInfo } from '../../usb/transport';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import { nonNegativeNumber, wholeNumberUpTo } from '../options';
import { errorLine, usbCliContext, withCliRemedy } from './devices';
import type { RegisterCommand } from './index';

/*
 * `linestation dfu`: put chosen devices into DFU mode. Each device is its own slot: they switch in
 * parallel, and one failing never stops the others. A device already in DFU mode is reported as
 * such; an old Device OS gets the 14400-baud serial trick.
 */

interface DfuOptions {
  device?: string;
  port?: string;
  all?: boolean;
  json?: boolean;
  simulate?: number;
  timeScale: number;
  timeout: number;
}

type Outcome =
  | {
      readonly ok: true;
      readonly portPath: string;
      readonly deviceId: string | null;
      readonly value: EnteredDfu;
    }
  | {
      readonly ok: false;
      readonly portPath: string;
      readonly deviceId: string | null;
      readonly error: LsError;
    };

const idOf = (d: UsbDeviceInfo): string | null => {
  const n = normalizeDeviceId(d.serialNumber);
  return n.valid ? n.id : null;
};

const runDfu = async (io: CliIo, o: DfuOptions): Promise<void> => {
  const chosen = [o.device, o.port, o.all].filter((x) => x !== undefined && x !== false).length;
  if (chosen !== 1) {
    io.err('linestation: USAGE: choose exactly one of --device ID, --port PATH or --all.');
    throw new CliExit(ExitCode.Usage);
  }
  const wantedId = o.device !== undefined ? normalizeDeviceId(o.device) : undefined;
  if (wantedId && !wantedId.valid) {
    io.err(`linestation: DEVICE_ID_INVALID: "${o.device}" is not a device ID (24 hex characters).`);
    throw new CliExit(ExitCode.Usage);
  }

  const ctx = await usbCliContext(o.simulate, o.timeScale);
  try {
    ctx.start({});
    let all: UsbDeviceInfo[];
    try {
      all = await ctx.transport.list();
    } catch (e) {
      const error = withCliRemedy(toLsError(e, 'USB_IO'));
      if (o.json) printJson(io, { error });
      io.err(`linestation: ${errorLine(error)}`);
      throw new CliExit(ExitCode.NotReady);
    }
    const particle = all
      .filter((d) => recognise(d).kind === 'particle')
      .sort((a, b) => comparePortPaths(a.portPath, b.portPath));
    const targets = particle.filter(
      (d) =>
        o.all || (wantedId && idOf(d) === wantedId.id) || (o.port !== undefined && d.portPath === o.port),
    );
    if (targets.length === 0) {
      const what = o.all
        ? 'No Particle devices are attached.'
        : `No Particle device matches ${o.device ? `device ID ${wantedId?.id}` : `port ${o.port}`}.`;
      const error: LsError = {
        code: 'NO_MATCHING_DEVICE',
        message: what,
        remedy: 'Run "linestation devices" to see what is attached, check the cable, then retry.',
      };
      if (o.json) printJson(io, { error, results: [] });
      io.err(`linestation: ${errorLine(error)}`);
      throw new CliExit(ExitCode.NotReady);
    }

    const outcomes = await Promise.all(
      targets.map(async (d): Promise<Outcome> => {
        const base = { portPath: d.portPath, deviceId: idOf(d) };
        try {
          const r = await enterDfuMode(ctx, d, { timeoutMs: o.timeout * 1000 });
          if (!o.json) {
            if (r.ok)
              io.out(
                `${d.portPath} ${base.deviceId ?? '?'} DFU ${r.value.via === 'already' ? '(already)' : `via ${r.value.via} in ${(r.value.elapsedMs / 1000).toFixed(1)} s`}`,
              );
            else io.err(`linestation: ${d.portPath} ${base.deviceId ?? '?'} FAIL ${errorLine(r.error)}`);
          }
          return r.ok
            ? { ...base, ok: true, value: r.value }
            : { ...base, ok: false, error: withCliRemedy(r.error) };
        } catch (e) {
          return { ...base, ok: false, error: toLsError(e) };
        }
      }),
    );
    if (o.json)
      printJson(io, {
        results: outcomes.map((x) =>
          x.ok
            ? {
                portPath: x.portPath,
                deviceId: x.deviceId,
                ok: true,
                via: x.value.via,
                elapsedMs: x.value.elapsedMs,
              }
            : {
                portPath: x.portPath,
                deviceId: x.deviceId,
                ok: false,
                error: {
                  code: x.error.code,
                  message: x.error.message,
                  ...(x.error.remedy ? { remedy: x.error.remedy } : {}),
                },
              },
        ),
      });
    const failed = outcomes.filter((x) => !x.ok).length;
    if (!o.json) io.out(`${outcomes.length - failed} of ${outcomes.length} in DFU mode.`);
    if (failed > 0) throw new CliExit(ExitCode.Failed);
  } finally {
    ctx.dispose();
  }
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('dfu')
    .description(
      'Put devices into DFU mode (control request, or the 14400-baud serial trick on old Device OS)',
    )
    .option('--device <id>', 'the device with this ID')
    .option('--port <path>', 'the device on this USB port path (e.g. 1-2.3)')
    .option('--all', 'every attached Particle device')
    .option(
      '--json',
      'print JSON: { results: [{ portPath, deviceId, ok, via, elapsedMs } | { ..., error }] }',
    )
    .option(
      '--timeout <seconds>',
      'how long a device may take to come back in DFU mode',
      nonNegativeNumber,
      30,
    )
    .option('--simulate <n>', 'use N simulated devices instead of USB', wholeNumberUpTo(64))
    .option('--time-scale <x>', 'simulated device timing factor (1 = real time)', nonNegativeNumber, 1)
    .action(async (options: DfuOptions) => runDfu(io, options));
};
