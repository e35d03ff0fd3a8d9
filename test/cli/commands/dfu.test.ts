import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorLine, register as registerDevices } from '../../../core/cli/commands/devices';
import { register } from '../../../core/cli/commands/dfu';
import { ExitCode } from '../../../core/cli/exit-codes';
import { runCommand } from '../run-command';

// `linestation dfu` (core/cli/commands/dfu.ts) on a simulated bus whose devices start in normal,
// listening, DFU and old-Device-OS modes.

interface DfuJson {
  results: {
    portPath: string;
    deviceId: string;
    ok: boolean;
    via?: string;
    error?: { code: string; remedy?: string };
  }[];
}

describe('linestation dfu', () => {
  it('--all brings every starting mode into DFU mode, each by its own route', async () => {
    const r = await runCommand(register, [
      'dfu',
      '--all',
      '--simulate',
      '4',
      '--time-scale',
      '0.01',
      '--json',
    ]);
    expect(r.code).toBe(ExitCode.Ok);
    const body = JSON.parse(r.out.join('\n')) as DfuJson;
    expect(body.results.map((x) => [x.portPath, x.ok, x.via])).toEqual([
      ['1-1.1', true, 'control-request'],
      ['1-1.2', true, 'control-request'],
      ['1-1.3', true, 'already'],
      ['1-1.4', true, 'serial-14400'],
    ]);
  });

  it('--device picks one device by ID; --port by port path', async () => {
    const list = await runCommand(registerDevices, [
      'devices',
      '--simulate',
      '2',
      '--time-scale',
      '0',
      '--json',
    ]);
    const id =
      (JSON.parse(list.out.join('\n')) as { devices: { deviceId: string }[] }).devices[1]?.deviceId ?? '';
    const byId = await runCommand(register, [
      'dfu',
      '--device',
      id.toUpperCase(),
      '--simulate',
      '2',
      '--time-scale',
      '0.01',
      '--json',
    ]);
    expect((JSON.parse(byId.out.join('\n')) as DfuJson).results.map((x) => x.deviceId)).toEqual([id]);
    const byPort = await runCommand(register, [
      'dfu',
      '--port',
      '1-1.1',
      '--simulate',
      '2',
      '--time-scale',
      '0.01',
    ]);
    expect(byPort.code).toBe(ExitCode.Ok);
    expect(byPort.out.join('\n')).toMatch(/1-1\.1 [0-9a-f]{24} DFU via control-request/);
  });

  it('refuses an ambiguous or missing choice, and a malformed ID', async () => {
    expect((await runCommand(register, ['dfu', '--simulate', '1'])).code).toBe(ExitCode.Usage);
    expect((await runCommand(register, ['dfu', '--all', '--port', '1-1.1', '--simulate', '1'])).code).toBe(
      ExitCode.Usage,
    );
    const bad = await runCommand(register, ['dfu', '--device', 'xyz', '--simulate', '1']);
    expect(bad.code).toBe(ExitCode.Usage);
    expect(bad.err.join('')).toContain('DEVICE_ID_INVALID');
  });

  it('names a port with no device: NO_MATCHING_DEVICE, exit 3', async () => {
    const r = await runCommand(register, ['dfu', '--port', '9-9', '--simulate', '1', '--time-scale', '0']);
    expect(r.code).toBe(ExitCode.NotReady);
    expect(r.err.join('')).toMatch(/NO_MATCHING_DEVICE.*linestation devices/);
  });

  it.skipIf(existsSync('/sys/bus/usb/devices'))(
    'without a USB bus (this machine), says so with a remedy, exit 3',
    async () => {
      const r = await runCommand(register, ['dfu', '--all']);
      expect(r.code).toBe(ExitCode.NotReady);
      expect(r.err.join('')).toMatch(/USB_UNAVAILABLE.*--simulate/);
    },
  );

  it('words the USB errors an operator meets with what to do', () => {
    expect(errorLine({ code: 'USB_ACCESS_DENIED', message: 'denied.' })).toMatch(
      /99-linestation-particle\.rules.*udevadm/,
    );
    expect(errorLine({ code: 'USB_BUSY', message: 'busy.' })).toMatch(/ModemManager/);
    expect(errorLine({ code: 'USB_UNAVAILABLE', message: 'none.' })).toMatch(/no USB bus/);
    expect(errorLine({ code: 'DEVICE_NEVER_CAME_BACK', message: 'gone.', remedy: 'Re-seat.' })).toBe(
      'DEVICE_NEVER_CAME_BACK: gone. Re-seat.',
    );
  });
});
