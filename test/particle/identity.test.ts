import { afterEach, describe, expect, it } from 'vitest';
import { getIccid, getSerialNumber, getSystemVersion, readIdentity } from '../../core/particle/identity';
import { ListeningSerial, parseIdentification, type SerialLink } from '../../core/particle/listening-serial';
import { type Platform, platformByName } from '../../core/platforms';
import { SimBus, SimDevice, type SimDeviceOptions } from '../../core/sim';
import { simListeningOpener, simSerialPath } from '../../core/sim/serial-bridge';
import type { UsbDeviceInfo } from '../../core/usb/transport';

// The identity requests (21, 554, 30, 90) and readIdentity against the simulated Device OS
// (core/sim/identity.ts), on the simulated bus, with the listening-mode `i` fallback through the
// simulated serial port.

const PORT = '1-3.1';
let bus: SimBus | undefined;
afterEach(() => bus?.dispose());

const setup = async (options: Partial<SimDeviceOptions> & { platform: string }) => {
  bus = new SimBus();
  const device = new SimDevice({ seed: `id-${options.platform}`, timeScale: 0, ...options });
  bus.plug(device, PORT);
  const info = (await bus.list()).find((d) => d.portPath === PORT) as UsbDeviceInfo;
  const platform = platformByName(options.platform) as Platform;
  return { bus, device, info, platform };
};

const listeningVia = (b: SimBus) => ({
  serialPath: simSerialPath(PORT),
  open: simListeningOpener(b),
  timeoutMs: 500,
});

describe('the single requests', () => {
  it('getSerialNumber, getIccid and getSystemVersion read what the device was made with', async () => {
    const { bus, device, info } = await setup({ platform: 'boron' });
    const h = await bus.open(info);
    expect(await getSerialNumber(h)).toEqual({ ok: true, value: device.identity.serialNumber });
    expect(await getIccid(h)).toEqual({
      ok: true,
      value: { iccid: device.identity.cellular?.iccid, imei: device.identity.cellular?.imei },
    });
    expect(await getSystemVersion(h)).toEqual({ ok: true, value: '6.2.1' });
    await h.close();
  });

  it('names the refusals: not supported (-120), no SIM (-1200), protected (-1801)', async () => {
    const electron = await setup({ platform: 'electron', deviceOs: { version: '2.3.1' } });
    let h = await electron.bus.open(electron.info);
    const r = await getIccid(h);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_REQUEST_NOT_SUPPORTED');
    await h.close();
    bus?.dispose();

    const noSim = await setup({ platform: 'boron', faults: { iccidUnreadable: 'no-sim' } });
    h = await noSim.bus.open(noSim.info);
    const n = await getIccid(h);
    expect(n.ok ? undefined : n.error.details?.result).toBe(-1200);
    await h.close();
    bus?.dispose();

    const prot = await setup({ platform: 'boron', protection: 'protected' });
    h = await prot.bus.open(prot.info);
    const p = await getSerialNumber(h);
    expect(p.ok ? '' : p.error.code).toBe('DEVICE_PROTECTED');
    await h.close();
  });
});

describe('readIdentity', () => {
  it('a Boron: serial, ICCID, IMEI, version and modules, all from control requests', async () => {
    const { bus, device, info, platform } = await setup({ platform: 'boron' });
    const r = await readIdentity(bus, info, platform, { requireSerial: true, requireIccid: true });
    expect(r).toMatchObject({
      ok: true,
      value: {
        serialNumber: device.identity.serialNumber,
        iccid: device.identity.cellular?.iccid,
        imei: device.identity.cellular?.imei,
        systemVersion: '6.2.1',
        missing: [],
        sources: { serialNumber: 'control-request', iccid: 'control-request' },
      },
    });
    expect(r.ok && r.value.modules?.map((m) => m.function)).toEqual(['bootloader', 'system', 'user']);
  });

  it('a Wi-Fi device has no ICCID to read and none is missing; requireIccid does not apply', async () => {
    const { bus, info, platform } = await setup({ platform: 'argon' });
    const r = await readIdentity(bus, info, platform, { requireIccid: true });
    expect(r.ok && r.value.iccid).toBeUndefined();
    expect(r.ok && r.value.missing).toEqual([]);
  });

  it('an unreadable serial: missing with its reason, or DEVICE_SERIAL_UNREADABLE when required', async () => {
    const { bus, info, platform } = await setup({ platform: 'p2', faults: { serialUnreadable: true } });
    const r = await readIdentity(bus, info, platform);
    expect(r.ok && r.value.missing).toEqual([
      expect.objectContaining({ field: 'serialNumber', cause: 'not-programmed', result: -250 }),
    ]);
    const req = await readIdentity(bus, info, platform, { requireSerial: true });
    expect(req.ok ? '' : req.error.code).toBe('DEVICE_SERIAL_UNREADABLE');
    expect(req.ok ? undefined : req.error.details?.cause).toBe('not-programmed');
    expect(req.ok ? '' : req.error.remedy).toMatch(/set the device aside/i);
  });

  it.each([
    ['no-sim', 'no-sim'],
    ['modem-off', 'modem-unavailable'],
  ] as const)(
    'ICCID unreadable (%s): DEVICE_ICCID_UNREADABLE when required, otherwise missing',
    async (fault, cause) => {
      const { bus, info, platform } = await setup({ platform: 'bsom', faults: { iccidUnreadable: fault } });
      const r = await readIdentity(bus, info, platform, { requireSerial: true });
      expect(r.ok && r.value.serialNumber).toBeTruthy();
      expect(r.ok && r.value.missing.map((m) => [m.field, m.cause])).toEqual([
        ['iccid', cause],
        ['imei', cause],
      ]);
      const req = await readIdentity(bus, info, platform, { requireIccid: true });
      expect(req.ok ? '' : req.error.code).toBe('DEVICE_ICCID_UNREADABLE');
      expect(req.ok ? undefined : req.error.details?.cause).toBe(cause);
    },
  );

  it('a host-side timeout on 554 (the modem too slow for the budget) is modem-unavailable', async () => {
    const { bus, info, platform } = await setup({
      platform: 'boron',
      timeScale: 1,
      timing: { modemOnMs: 60_000 },
    });
    const r = await readIdentity(bus, info, platform, { iccidTimeoutMs: 150, readModules: false });
    expect(r.ok && r.value.missing.find((m) => m.field === 'iccid')?.cause).toBe('modem-unavailable');
  });

  it('the Electron: 554 is not supported, so the ICCID comes from the listening-mode `i` listing', async () => {
    const { bus, device, info, platform } = await setup({
      platform: 'electron',
      deviceOs: { version: '2.3.1', systemModuleVersion: 2301 },
    });
    const r = await readIdentity(bus, info, platform, { requireIccid: true, listening: listeningVia(bus) });
    expect(r).toMatchObject({
      ok: true,
      value: {
        iccid: device.identity.cellular?.iccid,
        imei: device.identity.cellular?.imei,
        serialNumber: device.identity.serialNumber,
        sources: { iccid: 'listening', imei: 'listening', serialNumber: 'control-request' },
        missing: [],
      },
    });
    // Taken out of the listening mode it was put in for the question.
    expect(device.mode).toBe('normal');
  });

  it('the Electron without a serial port to ask: not-supported, DEVICE_ICCID_UNREADABLE when required', async () => {
    const { bus, info, platform } = await setup({ platform: 'electron', deviceOs: { version: '2.3.1' } });
    const r = await readIdentity(bus, info, platform);
    expect(r.ok && r.value.missing.map((m) => [m.field, m.cause])).toEqual([
      ['iccid', 'not-supported'],
      ['imei', 'not-supported'],
    ]);
    const req = await readIdentity(bus, info, platform, { requireIccid: true });
    expect(req.ok ? '' : req.error.remedy).toMatch(/listening-mode serial port/);
  });

  it('an Electron without a SIM: the listing prints blank lines, so the ICCID stays missing', async () => {
    const { bus, info, platform } = await setup({
      platform: 'electron',
      deviceOs: { version: '2.3.1' },
      faults: { iccidUnreadable: 'no-sim' },
    });
    const r = await readIdentity(bus, info, platform, { listening: listeningVia(bus) });
    expect(r.ok && r.value.missing.map((m) => [m.field, m.code])).toEqual([
      ['iccid', 'LISTENING_FIELD_BLANK'],
      ['imei', 'LISTENING_FIELD_BLANK'],
    ]);
  });

  it('a device already in listening mode stays there', async () => {
    const { bus, device, info, platform } = await setup({
      platform: 'electron',
      deviceOs: { version: '2.3.1' },
      mode: 'listening',
    });
    const r = await readIdentity(bus, info, platform, { listening: listeningVia(bus) });
    expect(r.ok && r.value.sources.iccid).toBe('listening');
    expect(device.mode).toBe('listening');
  });

  it('an old Device OS without control requests: missing with the reason, nothing thrown', async () => {
    const { bus, info, platform } = await setup({
      platform: 'photon',
      deviceOs: { version: '0.6.3', controlRequests: false },
    });
    const r = await readIdentity(bus, info, platform, { requestTimeoutMs: 300 });
    expect(r.ok && r.value.missing.map((m) => m.field)).toEqual(['systemVersion', 'modules', 'serialNumber']);
    expect(r.ok && r.value.missing.find((m) => m.field === 'serialNumber')?.cause).toBe(
      'no-control-requests',
    );
  });

  it('in DFU mode nothing is read: every field is missing as dfu-mode', async () => {
    const { bus, info, platform } = await setup({ platform: 'boron', mode: 'dfu' });
    const r = await readIdentity(bus, info, platform);
    expect(r.ok && new Set(r.value.missing.map((m) => m.cause))).toEqual(new Set(['dfu-mode']));
    const req = await readIdentity(bus, info, platform, { requireSerial: true });
    expect(req.ok ? '' : req.error.code).toBe('DEVICE_SERIAL_UNREADABLE');
  });

  it('a protected device: serial and ICCID refused, named protected', async () => {
    const { bus, info, platform } = await setup({ platform: 'boron', protection: 'protected' });
    const r = await readIdentity(bus, info, platform);
    expect(r.ok && r.value.missing.find((m) => m.field === 'serialNumber')?.cause).toBe('protected');
    expect(r.ok && r.value.missing.find((m) => m.field === 'iccid')?.cause).toBe('protected');
  });

  it('is cancelled by its signal', async () => {
    const { bus, info, platform } = await setup({ platform: 'boron' });
    const ac = new AbortController();
    ac.abort();
    const r = await readIdentity(bus, info, platform, { signal: ac.signal });
    expect(r.ok ? '' : r.error.code).toBe('ABORTED');
  });
});

describe('the listening-mode `i` parser', () => {
  const listing = (lines: string[]) => `${lines.join('\r\n')}\r\n`;
  const id = '0123456789abcdef01234567';

  it('reads the serial number, never the device secret', () => {
    const text = listing([
      `Device ID: ${id}`,
      'Device Secret: ABCDEFGHIJKLMNO',
      'Serial Number: S013LS612ABCDEF',
    ]);
    expect(parseIdentification(text, false, true)?.value).toEqual({
      ok: true,
      value: { deviceId: id, serialNumber: 'S013LS612ABCDEF' },
    });
    expect(JSON.stringify(parseIdentification(text, false, true))).not.toContain('ABCDEFGHIJKLMNO');
  });

  it('a blank IMEI/ICCID pair is a complete answer; a missing one is waited for', () => {
    const blank = listing([`Device ID: ${id}`, 'IMEI: ', 'ICCID: ', 'Cell Radio Version: ']);
    expect(parseIdentification(blank, true)?.value).toEqual({ ok: true, value: { deviceId: id } });
    expect(parseIdentification(listing([`Device ID: ${id}`, 'IMEI: 352753090000000']), true)).toBeUndefined();
  });

  it('an error quoting a cut-off listing does not quote the device secret', async () => {
    const listeners = new Set<(b: Uint8Array) => void>();
    const link: SerialLink = {
      write: async () => {
        for (const l of listeners)
          l(new TextEncoder().encode('Device ID: 0123\r\nDevice Secret: TOPSECRET12345\r\n'));
      },
      onData: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
      onClose: () => () => undefined,
      close: async () => undefined,
    };
    const r = await new ListeningSerial(link, '/dev/ttyACM9').identify({ timeoutMs: 20 });
    expect(r.ok ? '' : r.error.code).toBe('LISTENING_PARTIAL_REPLY');
    expect(JSON.stringify(r)).not.toContain('TOPSECRET');
    expect(JSON.stringify(r)).toContain('Device Secret: [REDACTED]');
  });
});
