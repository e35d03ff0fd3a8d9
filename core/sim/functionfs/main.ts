import { SerialPort } from 'serialport';
import { toLsError } from '../../errors/result';
import { LISTENING_BAUD, SimDevice } from '../device';
import { type ListeningFaults, ListeningResponder } from '../serial-listening';
import { ConfigfsGadget, listUdcs } from './configfs';
import {
  type DeviceStatus,
  moduleStatus,
  type Notice,
  type Reply,
  type Request,
  RequestSchema,
  ServerConfigSchema,
} from './protocol';
import { FfsDeviceServer } from './server';

/*
 * The FunctionFS device server process: serves N simulated Particle devices (core/sim's SimDevice)
 * to the kernel's USB host through dummy_hcd, one configfs gadget per UDC, with each device's
 * listening-mode serial console on its gadget's CDC-ACM tty. Started with `fork` and driven over
 * IPC (protocol.ts); run as root in a kernel with dummy_hcd, libcomposite, usb_f_fs and usb_f_acm.
 *
 *   node ffs-device.mjs '<ServerConfig JSON>'
 *
 * Each device blocks a libuv threadpool thread on its ep0 read, so the parent sets
 * UV_THREADPOOL_SIZE (it must be set before the pool starts, which is before this code runs).
 */

interface Slot {
  readonly device: SimDevice;
  readonly gadget: ConfigfsGadget;
  readonly server: FfsDeviceServer;
  readonly platform: string;
  productId: number;
  serialTty: string | undefined;
  serial: SerialPort | undefined;
  responder: ListeningResponder | undefined;
  unplugTimer: ReturnType<typeof setInterval> | undefined;
}

const log = (line: string): void => {
  process.stderr.write(`[ffs-device +${(performance.now() / 1000).toFixed(2)}s] ${line}\n`);
};

const notify = (n: Notice): void => {
  if (process.send) process.send(n);
  else process.stdout.write(`${JSON.stringify(n)}\n`);
};

const status = async (s: Slot, udc: string): Promise<DeviceStatus> => ({
  deviceId: s.device.deviceId,
  platform: s.platform,
  udc,
  mode: s.device.mode,
  connected: s.device.connected,
  bound: await s.gadget.isBound(),
  productId: s.productId,
  serialTty: s.serialTty,
  requests: s.server.requests,
  modules: s.device.modules.map(moduleStatus),
  stats: {
    controlTransfers: s.device.stats.controlTransfers,
    bytesProgrammed: s.device.stats.bytesProgrammed,
    sectorsErased: s.device.stats.sectorsErased,
    reenumerations: s.device.stats.reenumerations,
    inherentMs: s.device.stats.inherentMs,
  },
});

/**
 * Opens the device side of the CDC port after each enumeration with a serial function: when the
 * gadget disconnects, u_serial hangs up the device-side tty (gserial_disconnect), so a port opened
 * before a re-enumeration is dead afterwards. The console answers only in listening mode.
 */
const attachSerial = (slot: Slot, tty: string): void => {
  slot.serialTty = tty;
  closeSerial(slot);
  const device = slot.device;
  const faults: ListeningFaults = {
    get mode() {
      return device.mode === 'listening' ? 'listening' : 'normal';
    },
  };
  const port = new SerialPort({ path: tty, baudRate: 9600, autoOpen: false });
  const responder = new ListeningResponder(
    {
      deviceId: device.deviceId,
      platformId: device.platform.id,
      systemVersion: device.deviceOs.version,
      systemModuleVersion: device.deviceOs.systemModuleVersion,
    },
    (text) => {
      if (port.isOpen) port.write(text);
    },
    faults,
  );
  port.on('data', (chunk: Buffer) => responder.receive(chunk));
  port.on('error', (e) => log(`${device.deviceId} serial ${tty}: ${e.message}`));
  port.open((e) => {
    if (e) notify({ notice: 'error', deviceId: device.deviceId, code: 'SERIAL_OPEN', message: e.message });
    else log(`${device.deviceId} listening console on ${tty}`);
  });
  slot.serial = port;
  slot.responder = responder;
};

const closeSerial = (slot: Slot): void => {
  slot.responder?.stop();
  slot.responder = undefined;
  const port = slot.serial;
  slot.serial = undefined;
  if (port?.isOpen) port.close(() => undefined);
};

const main = async (): Promise<void> => {
  log('started');
  const config = ServerConfigSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
  const udcs = await listUdcs();
  if (udcs.length < config.devices.length)
    throw new Error(
      `${config.devices.length} devices need as many UDCs, the kernel has ${udcs.length}: load dummy_hcd with num=${config.devices.length}.`,
    );
  const slots = new Map<string, Slot>();
  const udcOf = new Map<string, string>();
  for (const [i, d] of config.devices.entries()) {
    const udc = udcs[i] ?? '';
    const gadget = await ConfigfsGadget.create(`ls${i}`, udc);
    const device = new SimDevice({
      platform: d.platform,
      deviceId: d.deviceId,
      mode: d.mode,
      timeScale: d.timeScale,
    });
    const slot: Slot = {
      device,
      gadget,
      platform: d.platform,
      productId: 0,
      serialTty: undefined,
      serial: undefined,
      responder: undefined,
      unplugTimer: undefined,
      server: new FfsDeviceServer(device, gadget, {
        attached: (mode, productId) => {
          slot.productId = productId;
          log(`${d.platform} ${device.deviceId} attached on ${udc} as ${productId.toString(16)} (${mode})`);
          notify({ notice: 'attached', deviceId: device.deviceId, mode, productId });
        },
        detached: (reason) => {
          log(`${d.platform} ${device.deviceId} detached: ${reason}`);
          closeSerial(slot);
          slot.serialTty = undefined;
          notify({ notice: 'detached', deviceId: device.deviceId, reason });
        },
        serialTty: (tty) => attachSerial(slot, tty),
        log: (line) => log(`${d.platform} ${device.deviceId} ${line}`),
        error: (e) => {
          log(
            `${d.platform} ${device.deviceId} error ${e.code}: ${e.message} ${JSON.stringify(e.details ?? {})}`,
          );
          notify({ notice: 'error', deviceId: device.deviceId, code: e.code, message: e.message });
        },
        ...(process.env.LINESTATION_FFS_TRACE === '1'
          ? {
              request: (q, result, outcome, ms) =>
                log(
                  `${device.deviceId} ${q.bmRequestType.toString(16)} ${q.bRequest} v=${q.wValue} i=${q.wIndex} l=${q.wLength} -> ${result}/${outcome} ${ms.toFixed(1)} ms`,
                ),
            }
          : {}),
      }),
    };
    slots.set(d.deviceId, slot);
    udcOf.set(d.deviceId, udc);
    await slot.server.start();
    device.powerOn();
    await slot.server.settled();
  }
  const all = async (): Promise<DeviceStatus[]> =>
    Promise.all([...slots.values()].map((s) => status(s, udcOf.get(s.device.deviceId) ?? '')));

  const stop = async (): Promise<void> => {
    for (const s of slots.values()) {
      if (s.unplugTimer) clearInterval(s.unplugTimer);
      await s.server.stop();
      s.device.dispose();
      closeSerial(s);
      await s.gadget.destroy();
    }
  };

  const handle = async (request: Request): Promise<Reply> => {
    const r = RequestSchema.parse(request);
    const slotFor = (id: string): Slot => {
      const s = slots.get(id);
      if (!s) throw new Error(`No emulated device ${id}.`);
      return s;
    };
    switch (r.cmd) {
      case 'status':
        return { id: r.id, ok: true, status: await all() };
      case 'read-flash': {
        const flash = slotFor(r.device).device.flash.get(r.alt);
        if (!flash) throw new Error(`Device ${r.device} has no alt setting ${r.alt}.`);
        return { id: r.id, ok: true, data: Buffer.from(flash.read(r.address, r.length)).toString('base64') };
      }
      case 'power-off':
        slotFor(r.device).device.powerOff('unplugged');
        await slotFor(r.device).server.settled();
        return { id: r.id, ok: true };
      case 'power-on':
        slotFor(r.device).device.powerOn();
        await slotFor(r.device).server.settled();
        return { id: r.id, ok: true };
      case 'unplug-after-bytes': {
        const s = slotFor(r.device);
        const start = s.device.stats.bytesProgrammed;
        // Polled rather than hooked: the model has no byte callback, and 2 ms is far below a block.
        s.unplugTimer = setInterval(() => {
          if (s.device.stats.bytesProgrammed - start < r.bytes) return;
          if (s.unplugTimer) clearInterval(s.unplugTimer);
          s.unplugTimer = undefined;
          s.device.powerOff('cable pulled mid-download');
        }, 2);
        return { id: r.id, ok: true };
      }
      case 'reset-stats': {
        const st = slotFor(r.device).device.stats;
        st.controlTransfers = 0;
        st.bytesIn = 0;
        st.bytesOut = 0;
        st.sectorsErased = 0;
        st.bytesProgrammed = 0;
        st.inherentMs = 0;
        return { id: r.id, ok: true };
      }
      case 'reset':
        slotFor(r.device).device.reset(r.target, 'reset requested by the rig');
        return { id: r.id, ok: true };
      case 'listen':
        slotFor(r.device).device.setLineCoding(LISTENING_BAUD);
        return { id: r.id, ok: true };
      case 'stop':
        await stop();
        setImmediate(() => process.exit(0));
        return { id: r.id, ok: true };
    }
  };

  process.on('message', (m: unknown) => {
    const id = typeof m === 'object' && m !== null && 'id' in m && typeof m.id === 'number' ? m.id : -1;
    handle(m as Request).then(
      (reply) => process.send?.(reply),
      (e: unknown) => process.send?.({ id, ok: false, error: toLsError(e).message } satisfies Reply),
    );
  });
  process.on('SIGTERM', () => void stop().finally(() => process.exit(0)));
  notify({ notice: 'ready', devices: await all() });
};

main().catch((e: unknown) => {
  const error = toLsError(e);
  process.stderr.write(`ffs-device: ${error.code}: ${error.message}\n`);
  process.exit(1);
});
