import type { SerialLinkOpener } from '../particle/listening-serial';
import type { SerialOpenBinding } from '../particle/serial-trick';
import { recognise } from '../usb/identity';
import type { SerialPortLister } from '../usb/serial-ports';
import type { SimBus } from './bus';
import { ListeningResponder } from './serial-listening';

/*
 * The serial side of simulated devices on a SimBus: every normal/listening-mode device has a CDC
 * port, listed under a made-up tty path, and opening that path at some baud rate sets the
 * device's line coding exactly as the CDC SET_LINE_CODING request would (14400 -> DFU mode,
 * 28800 -> listening). The path encodes the USB port path so it survives re-enumeration.
 */

const PREFIX = '/dev/ttyACM-sim-';

export const simSerialPath = (portPath: string): string => `${PREFIX}${portPath}`;

const portPathOf = (path: string): string | undefined =>
  path.startsWith(PREFIX) ? path.slice(PREFIX.length) : undefined;

/** Lists a CDC port for each attached simulated device in normal or listening mode. */
export const simSerialPorts =
  (bus: SimBus): SerialPortLister =>
  async () =>
    (await bus.list()).flatMap((info) => {
      const r = recognise(info);
      if (r.kind !== 'particle' || r.dfu) return [];
      return [
        {
          path: simSerialPath(info.portPath),
          vendorId: info.vendorId,
          productId: info.productId,
          serialNumber: info.serialNumber,
        },
      ];
    });

const enoent = (path: string): Error =>
  Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });

/**
 * A serial binding whose `open` reaches the simulated device's line-coding hook. `inner` (e.g.
 * @serialport/binding-mock) is opened too, so a test can see the baud rate the host asked for.
 */
export const simLineCodingBinding = (bus: SimBus, inner?: SerialOpenBinding): SerialOpenBinding => ({
  open: async (options) => {
    const portPath = portPathOf(options.path);
    const attached = portPath ? (await bus.list()).some((d) => d.portPath === portPath) : false;
    const device = portPath ? bus.deviceAt(portPath) : undefined;
    if (!device || !attached) throw enoent(options.path);
    const port = inner ? await inner.open(options) : { close: async () => undefined };
    device.setLineCoding(options.baudRate);
    return port;
  },
});

export { simCellularIds } from './identity';

/**
 * Opens a simulated device's serial port as a byte link answered by the listening-mode responder
 * (in listening mode) or by silence (an application that ignores the letters), as the real port
 * would behave at 9600 baud.
 */
export const simListeningOpener =
  (bus: SimBus): SerialLinkOpener =>
  async (path) => {
    const portPath = portPathOf(path);
    const device = portPath ? bus.deviceAt(portPath) : undefined;
    if (!device?.connected || device.mode === 'dfu') throw enoent(path);
    const dataListeners = new Set<(chunk: Uint8Array) => void>();
    const closeListeners = new Set<() => void>();
    const encoder = new TextEncoder();
    const responder = new ListeningResponder(
      // The same serial number, IMEI and ICCID the device's control requests report.
      device.listeningProfile(),
      (text) => {
        const bytes = encoder.encode(text);
        for (const l of dataListeners) l(bytes);
      },
      { mode: device.mode === 'listening' ? 'listening' : 'normal' },
    );
    return {
      write: async (data) => responder.receive(data),
      onData: (l) => {
        dataListeners.add(l);
        return () => dataListeners.delete(l);
      },
      onClose: (l) => {
        closeListeners.add(l);
        return () => closeListeners.delete(l);
      },
      close: async () => {
        responder.stop();
        for (const l of closeListeners) l();
      },
    };
  };
