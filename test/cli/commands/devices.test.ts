import { describe, expect, it } from 'vitest';
import { register } from '../../../core/cli/commands/devices';
import { runCommand } from '../run-command';

// `linestation devices` (core/cli/commands/devices.ts), driven in-process on a simulated bus.

describe('linestation devices', () => {
  it('--json lists { portPath, slot, deviceId, platform, mode, serialPath } and counts ignored devices', async () => {
    const r = await runCommand(register, ['devices', '--simulate', '4', '--time-scale', '0', '--json']);
    expect(r.code).toBe(0);
    const body = JSON.parse(r.out.join('\n')) as { devices: Record<string, unknown>[]; ignored: number };
    expect(body.ignored).toBe(0);
    expect(body.devices.map((d) => [d.portPath, d.platform, d.mode])).toEqual([
      ['1-1.1', 'photon', 'normal'],
      ['1-1.2', 'boron', 'listening'],
      ['1-1.3', 'p2', 'dfu'],
      ['1-1.4', 'argon', 'unknown'],
    ]);
    expect(Object.keys(body.devices[0] ?? {})).toEqual([
      'portPath',
      'slot',
      'deviceId',
      'platform',
      'mode',
      'serialPath',
    ]);
    expect(body.devices[0]?.deviceId).toMatch(/^[0-9a-f]{24}$/);
    expect(body.devices[2]?.serialPath).toBeNull();
  });

  it('prints a table and a count line', async () => {
    const r = await runCommand(register, ['devices', '--simulate', '2', '--time-scale', '0']);
    expect(r.out[0]).toMatch(/^PORT\s+SLOT\s+DEVICE ID/);
    expect(r.out.at(-1)).toBe('2 Particle devices, 0 other USB devices ignored.');
  });

  it('--watch streams attach lines as devices are plugged', async () => {
    const r = await runCommand(register, [
      'devices',
      '--simulate',
      '3',
      '--time-scale',
      '0.01',
      '--watch',
      '--for',
      '0.5',
      '--json',
    ]);
    const events = r.out.map((l) => JSON.parse(l) as { event: string; portPath: string });
    // Devices are identified in parallel, so attach lines come in the order identification ends.
    expect(events.map((e) => [e.event, e.portPath]).sort()).toEqual([
      ['attach', '1-1.1'],
      ['attach', '1-1.2'],
      ['attach', '1-1.3'],
    ]);
  });
});

describe('linestation devices --listening', () => {
  it('reads ID and Device OS version over serial from listening-mode devices only', async () => {
    const r = await runCommand(register, [
      'devices',
      '--simulate',
      '4',
      '--time-scale',
      '0',
      '--listening',
      '--json',
    ]);
    const body = JSON.parse(r.out.join('\n')) as {
      devices: {
        portPath: string;
        deviceId: string;
        mode: string;
        listening?: {
          deviceId?: string;
          serialNumber?: string;
          systemVersion?: string;
          imei?: string;
          iccid?: string;
        };
      }[];
    };
    const withSerialFacts = body.devices.filter((d) => d.listening);
    expect(withSerialFacts.map((d) => d.mode)).toEqual(['listening']);
    const l = withSerialFacts[0];
    expect(l?.listening?.deviceId).toBe(l?.deviceId);
    expect(l?.listening?.systemVersion).toMatch(/^\d+\.\d+\.\d+/);
    // The listening device is a simulated Boron: cellular, so IMEI and ICCID come with the ID, and
    // its Device OS lists the sticker serial number too.
    expect(l?.listening).toMatchObject({
      serialNumber: expect.stringMatching(/^S013LS\w{9}$/),
      imei: expect.stringMatching(/^\d{15}$/),
      iccid: expect.stringMatching(/^\d{20}$/),
    });
  });
});
