import type { LsError } from '../../errors/result';
import {
  openListeningSerial,
  openSerialPortLink,
  type SerialLinkOpener,
} from '../../particle/listening-serial';
import { type SerialTouch, serialTouch } from '../../particle/serial-trick';
import { platformByName } from '../../platforms';
import { loadProfile } from '../../station/profile';
import { usbIdText } from '../../usb/descriptors';
import { listSerialPorts, type SerialPortLister } from '../../usb/serial-ports';
import type { SlotLabels, SlottedDevice } from '../../usb/slots';
import type { UsbTransport } from '../../usb/transport';
import { DeviceWatcher, type IgnoredDevice } from '../../usb/watcher';
import { ExitCode } from '../exit-codes';
import { CliExit, type CliIo, printJson } from '../io';
import { nonNegativeNumber, wholeNumberUpTo } from '../options';
import type { RegisterCommand } from './index';

/*
 * `linestation devices`: what is plugged in, as the station sees it. Shares its USB set-up with
 * `linestation dfu` (real usb@3 + serialport, or a simulated bus with --simulate N).
 */

const UDEV_RULES = 'packaging/linux/99-linestation-particle.rules';

/** Our words for the errors an operator meets at the USB level, each with what to do. */
export const withCliRemedy = (e: LsError): LsError => {
  switch (e.code) {
    case 'USB_UNAVAILABLE':
      return {
        ...e,
        remedy:
          'This machine (or container) has no USB bus. Run on the station PC, pass the USB bus through to the VM/container, or try --simulate 4.',
      };
    case 'USB_ACCESS_DENIED':
    case 'SERIAL_ACCESS_DENIED':
      return {
        ...e,
        remedy: `On Linux, install the udev rules: sudo cp ${UDEV_RULES} /etc/udev/rules.d/ && sudo udevadm control --reload-rules && sudo udevadm trigger, then replug the devices (see docs/devices.md).`,
      };
    case 'USB_BUSY':
    case 'SERIAL_BUSY':
      return {
        ...e,
        remedy:
          'Another program holds the device: close particle-cli, dfu-util, serial monitors and other linestation windows; make sure ModemManager ignores Particle devices (the udev rules do that).',
      };
    default:
      return e;
  }
};

export const errorLine = (e: LsError): string => {
  const x = withCliRemedy(e);
  return `${x.code}: ${x.message}${x.remedy ? ` ${x.remedy}` : ''}`;
};

export interface UsbCliContext {
  readonly transport: UsbTransport;
  readonly serialPorts: SerialPortLister;
  readonly serialTouch: SerialTouch;
  /** Opens a serial port for listening-mode commands. */
  readonly openSerial: SerialLinkOpener;
  /** Simulated runs: plugs the devices (all at once, or one by one for --watch). */
  readonly start: (options: { staggerMs?: number }) => void;
  readonly dispose: () => void;
}

const SIM_PLATFORMS = ['photon', 'boron', 'p2', 'argon', 'bsom', 'msom'] as const;
const SIM_STARTS = ['normal', 'listening', 'dfu', 'old-os'] as const;

/**
 * The USB world of a CLI run. Real: usb@3 and serialport. Simulated: a SimBus with N devices whose
 * starting modes cycle normal, listening, DFU and "old Device OS" (no control requests), so every
 * path of `dfu` is exercised. core/sim is loaded only when asked for.
 */
export const usbCliContext = async (
  simulate: number | undefined,
  timeScale: number,
): Promise<UsbCliContext> => {
  if (simulate === undefined) {
    const { NodeUsbTransport } = await import('../../usb/node-usb');
    return {
      transport: new NodeUsbTransport(),
      serialPorts: listSerialPorts,
      serialTouch: serialTouch(),
      openSerial: openSerialPortLink,
      start: () => undefined,
      dispose: () => undefined,
    };
  }
  const { SimBus, SimDevice, portPaths } = await import('../../sim/index');
  const { simLineCodingBinding, simListeningOpener, simSerialPorts } = await import(
    '../../sim/serial-bridge'
  );
  const bus = new SimBus();
  const paths = portPaths(simulate);
  const devices = paths.map((_, i) => {
    const start = SIM_STARTS[i % SIM_STARTS.length] ?? 'normal';
    return new SimDevice({
      platform: SIM_PLATFORMS[i % SIM_PLATFORMS.length] ?? 'photon',
      seed: i + 1,
      timeScale,
      mode: start === 'old-os' ? 'normal' : start,
      ...(start === 'old-os' ? { deviceOs: { version: '0.7.0', controlRequests: false } } : {}),
    });
  });
  const timers: ReturnType<typeof setTimeout>[] = [];
  return {
    transport: bus,
    serialPorts: simSerialPorts(bus),
    serialTouch: serialTouch(simLineCodingBinding(bus)),
    openSerial: simListeningOpener(bus),
    start: ({ staggerMs = 0 }) => {
      devices.forEach((d, i) => {
        const path = paths[i] as string;
        if (staggerMs <= 0) bus.plug(d, path);
        else timers.push(setTimeout(() => bus.plug(d, path), staggerMs * (i + 1)));
      });
    },
    dispose: () => {
      for (const t of timers) clearTimeout(t);
      bus.dispose();
    },
  };
};

/** Slot labels from a profile (its `slots.labels`), or none. */
export const slotLabelsFrom = async (io: CliIo, profilePath: string | undefined): Promise<SlotLabels> => {
  if (!profilePath) return {};
  const loaded = await loadProfile(profilePath);
  if (!loaded.ok) {
    io.err(`linestation: ${errorLine(loaded.error)}`);
    throw new CliExit(ExitCode.Usage);
  }
  return loaded.value.profile.slots.labels;
};

export interface ListeningFacts {
  readonly deviceId?: string;
  /** The sticker serial number, where the listing has it (current Device OS's key/value form). */
  readonly serialNumber?: string;
  readonly imei?: string;
  readonly iccid?: string;
  readonly systemVersion?: string;
  readonly error?: LsError;
}

/**
 * Asks each listening-mode device with a serial port for its ID (and IMEI/ICCID) and Device OS
 * version over serial, one port at a time (a port can only be opened by one program).
 */
export const readListening = async (
  devices: readonly SlottedDevice[],
  open: SerialLinkOpener,
): Promise<Map<string, ListeningFacts>> => {
  const out = new Map<string, ListeningFacts>();
  for (const d of devices) {
    if (d.mode !== 'listening' || !d.serialPath) continue;
    const s = await openListeningSerial(d.serialPath, { open });
    if (!s.ok) {
      out.set(d.key, { error: s.error });
      continue;
    }
    try {
      const id = await s.value.identify({ cellular: platformByName(d.platform)?.cellular ?? false });
      const version = await s.value.systemVersion();
      const error = !id.ok ? id.error : !version.ok ? version.error : undefined;
      out.set(d.key, {
        ...(id.ok ? id.value : {}),
        ...(version.ok ? { systemVersion: version.value } : {}),
        ...(error ? { error } : {}),
      });
    } finally {
      await s.value.close();
    }
  }
  return out;
};

const listeningJson = (f: ListeningFacts) => ({
  ...(f.deviceId ? { deviceId: f.deviceId } : {}),
  ...(f.serialNumber ? { serialNumber: f.serialNumber } : {}),
  ...(f.imei ? { imei: f.imei } : {}),
  ...(f.iccid ? { iccid: f.iccid } : {}),
  ...(f.systemVersion ? { systemVersion: f.systemVersion } : {}),
  ...(f.error
    ? {
        error: {
          code: f.error.code,
          message: f.error.message,
          ...(f.error.remedy ? { remedy: f.error.remedy } : {}),
        },
      }
    : {}),
});

export const deviceJson = (d: SlottedDevice) => ({
  portPath: d.portPath,
  slot: d.slot,
  deviceId: d.deviceId ?? null,
  platform: d.platform,
  mode: d.mode,
  serialPath: d.serialPath ?? null,
  ...(d.errors.length + d.problems.length > 0
    ? {
        problems: [...d.errors, ...d.problems].map((e) => {
          const x = withCliRemedy(e);
          return { code: x.code, message: x.message, ...(x.remedy ? { remedy: x.remedy } : {}) };
        }),
      }
    : {}),
});

const pad = (s: string, n: number): string => s.padEnd(n);

const printTable = (
  io: CliIo,
  devices: readonly SlottedDevice[],
  ignored: readonly IgnoredDevice[],
): void => {
  if (devices.length === 0) io.out('No Particle devices found.');
  else {
    io.out(
      `${pad('PORT', 12)}${pad('SLOT', 8)}${pad('DEVICE ID', 26)}${pad('PLATFORM', 11)}${pad('MODE', 11)}SERIAL`,
    );
    for (const d of devices)
      io.out(
        `${pad(d.portPath, 12)}${pad(d.slot ?? '-', 8)}${pad(d.deviceId ?? `? ${d.serialNumber}`, 26)}${pad(d.platform, 11)}${pad(d.mode, 11)}${d.serialPath ?? '-'}`,
      );
    for (const d of devices)
      for (const e of [...d.errors, ...d.problems]) io.err(`linestation: ${d.portPath}: ${errorLine(e)}`);
  }
  io.out(
    `${devices.length} Particle device${devices.length === 1 ? '' : 's'}, ${ignored.length} other USB device${ignored.length === 1 ? '' : 's'} ignored.`,
  );
};

interface DevicesOptions {
  json?: boolean;
  watch?: boolean;
  for?: number;
  simulate?: number;
  timeScale: number;
  profile?: string;
  probe: boolean;
  listening?: boolean;
}

const eventLine = (type: string, d: SlottedDevice): string =>
  `${type.padEnd(7)}${d.portPath}${d.slot ? ` [${d.slot}]` : ''} ${d.platform} ${d.mode} ${d.deviceId ?? `? ${d.serialNumber}`}${d.serialPath ? ` ${d.serialPath}` : ''}`;

const runDevices = async (io: CliIo, o: DevicesOptions): Promise<void> => {
  const labels = await slotLabelsFrom(io, o.profile);
  const ctx = await usbCliContext(o.simulate, o.timeScale);
  const watcher = new DeviceWatcher({
    transport: ctx.transport,
    serialPorts: ctx.serialPorts,
    slots: labels,
    probe: o.probe,
    rescanIntervalMs: o.watch ? 2000 : 0,
    hotplug: Boolean(o.watch),
  });
  try {
    if (!o.watch) ctx.start({});
    const started = await watcher.start();
    if (!started.ok) {
      if (o.json) printJson(io, { error: withCliRemedy(started.error) });
      io.err(`linestation: ${errorLine(started.error)}`);
      throw new CliExit(ExitCode.NotReady);
    }
    if (!o.watch) {
      const devices = watcher.devices();
      const ignored = watcher.ignored();
      const facts = o.listening
        ? await readListening(devices, ctx.openSerial)
        : new Map<string, ListeningFacts>();
      if (o.json)
        printJson(io, {
          devices: devices.map((d) => {
            const f = facts.get(d.key);
            return f ? { ...deviceJson(d), listening: listeningJson(f) } : deviceJson(d);
          }),
          ignored: ignored.length,
        });
      else {
        printTable(io, devices, ignored);
        for (const d of devices) {
          const f = facts.get(d.key);
          if (!f) continue;
          if (f.error) io.err(`linestation: ${d.portPath}: ${errorLine(f.error)}`);
          else
            io.out(
              `${d.portPath} listening: device ID ${f.deviceId}${f.serialNumber ? `, serial ${f.serialNumber}` : ''}${f.imei ? `, IMEI ${f.imei}` : ''}${f.iccid ? `, ICCID ${f.iccid}` : ''}, Device OS ${f.systemVersion}`,
            );
        }
      }
      return;
    }
    // --watch: the current set first, then one line (or one JSON object) per change.
    const emit = (type: string, d: SlottedDevice): void => {
      if (o.json) io.out(JSON.stringify({ event: type, ...deviceJson(d) }));
      else io.out(eventLine(type, d));
    };
    for (const d of watcher.devices()) emit('present', d);
    watcher.subscribe((e) => {
      if (e.type === 'attach' || e.type === 'detach' || e.type === 'changed') emit(e.type, e.device);
      else if (e.type === 'ignored')
        o.json
          ? io.out(
              JSON.stringify({
                event: 'ignored',
                portPath: e.device.portPath,
                vendorId: e.device.vendorId,
                productId: e.device.productId,
              }),
            )
          : io.out(`ignored ${e.device.portPath} ${usbIdText(e.device)}`);
      else io.err(`linestation: ${errorLine(e.error)}`);
    });
    ctx.start({ staggerMs: Math.max(1, 1000 * o.timeScale) });
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (o.for !== undefined) setTimeout(stop, o.for * 1000);
    });
    await watcher.settled();
  } finally {
    watcher.stop();
    ctx.dispose();
  }
};

export const register: RegisterCommand = (program, io) => {
  program
    .command('devices')
    .description('List Particle devices on USB (port path, slot, device ID, platform, mode, serial port)')
    .option('--json', 'print JSON: { devices: [...], ignored: N } (with --watch: one JSON object per line)')
    .option('--watch', 'keep running and print a line per attach/detach (Ctrl-C to stop)')
    .option('--for <seconds>', 'with --watch: stop after this many seconds', nonNegativeNumber)
    .option('--profile <file>', 'take slot labels from this product profile (slots.labels)')
    .option(
      '--listening',
      'also ask listening-mode devices for ID (IMEI/ICCID) and Device OS version over serial',
    )
    .option('--no-probe', 'do not open normal-mode devices to ask their mode (mode shows "unknown")')
    .option(
      '--simulate <n>',
      'use N simulated devices instead of USB (modes cycle normal, listening, dfu, old Device OS)',
      wholeNumberUpTo(64),
    )
    .option('--time-scale <x>', 'simulated device timing factor (1 = real time)', nonNegativeNumber, 1)
    .action(async (options: DevicesOptions) => runDevices(io, options));
};
