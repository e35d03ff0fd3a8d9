import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';
import { type ListeningDeviceProfile, type ListeningFaults, ListeningResponder } from './serial-listening';

/*
 * Process entry for the simulated listening-mode device: opens a tty (the far end of a socat pty
 * pair in tests, a gadget's /dev/ttyGS* in the USB rig) with the real serialport binding and
 * answers like Device OS. It runs in its own process so the host side under test talks to it only
 * through the kernel's tty layer, as it would to a real device.
 *
 *   node serial-listening-main.mjs --path /tmp/x/B --device-id <24 hex> [--platform 13]
 *     [--version 5.3.2] [--imei …] [--iccid …] [--mode listening|normal|silent] [--noise TEXT]
 *     [--chunk-size N] [--chunk-delay MS] [--truncate-at 0.5] [--log-every MS] [--legacy-id-format]
 *     [--id-format device-os [--serial-number S] [--device-secret S] [--cellular]]
 *
 * Prints "READY <path>" on stdout once the port is open; exits on SIGTERM/SIGINT or when the port
 * closes.
 */

const { values } = parseArgs({
  options: {
    path: { type: 'string' },
    'device-id': { type: 'string', default: '0123456789abcdef01234567' },
    platform: { type: 'string', default: '6' },
    version: { type: 'string', default: '5.3.2' },
    imei: { type: 'string' },
    iccid: { type: 'string' },
    mode: { type: 'string', default: 'listening' },
    noise: { type: 'string' },
    'chunk-size': { type: 'string' },
    'chunk-delay': { type: 'string' },
    'truncate-at': { type: 'string' },
    'log-every': { type: 'string' },
    'legacy-id-format': { type: 'boolean', default: false },
    // Device OS 6.2's key/value `i` listing, with a serial number, a device secret, and blank
    // IMEI/ICCID lines on a cellular device whose modem gave nothing.
    'id-format': { type: 'string' },
    'serial-number': { type: 'string' },
    'device-secret': { type: 'string' },
    cellular: { type: 'boolean', default: false },
  },
});

if (!values.path) {
  process.stderr.write('serial-listening: --path is required\n');
  process.exit(2);
}
const mode = values.mode;
if (mode !== 'listening' && mode !== 'normal' && mode !== 'silent') {
  process.stderr.write(`serial-listening: unknown --mode ${mode}\n`);
  process.exit(2);
}

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

const profile: ListeningDeviceProfile = {
  deviceId: values['device-id'],
  platformId: Number(values.platform),
  systemVersion: values.version,
  ...(values.imei ? { imei: values.imei } : {}),
  ...(values.iccid ? { iccid: values.iccid } : {}),
  idFormat:
    values['id-format'] === 'device-os' ? 'device-os' : values['legacy-id-format'] ? 'legacy' : 'modern',
  ...(values['serial-number'] ? { serialNumber: values['serial-number'] } : {}),
  ...(values['device-secret'] ? { deviceSecret: values['device-secret'] } : {}),
  ...(values.cellular ? { cellular: true } : {}),
};

const faults: ListeningFaults = {
  mode,
  ...(values.noise ? { noise: values.noise.replace(/\\r/g, '\r').replace(/\\n/g, '\n') } : {}),
  ...(num(values['chunk-size']) ? { chunkSize: num(values['chunk-size']) } : {}),
  ...(num(values['chunk-delay']) !== undefined ? { chunkDelayMs: num(values['chunk-delay']) } : {}),
  ...(num(values['truncate-at']) !== undefined ? { truncateAt: num(values['truncate-at']) } : {}),
  ...(num(values['log-every']) ? { logEveryMs: num(values['log-every']) } : {}),
};

const port = new SerialPort({ path: values.path, baudRate: 9600, autoOpen: false });
const responder = new ListeningResponder(profile, (text) => port.write(text), faults);

const shutdown = (code: number): void => {
  responder.stop();
  if (port.isOpen) port.close(() => process.exit(code));
  else process.exit(code);
};

port.on('data', (chunk: Buffer) => responder.receive(chunk));
port.on('close', () => shutdown(0));
port.on('error', (e) => {
  process.stderr.write(`serial-listening: ${e.message}\n`);
  shutdown(1);
});
port.open((e) => {
  if (e) {
    process.stderr.write(`serial-listening: cannot open ${values.path}: ${e.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`READY ${values.path}\n`);
});

process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
