import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openListeningSerial } from '../../core/particle/listening-serial';
import { hasSocat, type PtyDevice, removeListeningBundle, startPtyDevice } from '../sim/serial-pty';

const socat = hasSocat();
if (!socat)
  console.warn(
    'listening-serial: socat is not installed; skipping the pseudo-terminal tests (apt-get install socat).',
  );

const ID = '3c0021000e47353136383631';
const IMEI = '352753090000000';
const ICCID = '89883030000012345678';
/**
 * How long a test waits for bytes that the device process WILL send (through socat and a pty). It
 * is also the full duration of those tests, since each ends on the timeout; 400 ms was too short
 * on a loaded 2-core machine (the cut-off answer had not arrived yet: NO_RESPONSE, not PARTIAL).
 */
const ANSWER_MS = 2000;

describe.skipIf(!socat)('listening-mode serial over a real pty', () => {
  let device: PtyDevice | undefined;
  afterAll(removeListeningBundle);
  afterEach(async () => {
    await device?.stop();
    device = undefined;
  });

  const open = async (args: string[]) => {
    device = await startPtyDevice(['--device-id', ID, ...args]);
    const s = await openListeningSerial(device.hostPath);
    if (!s.ok) throw new Error(s.error.message);
    return s.value;
  };

  it('reads the device ID, system version and module info', async () => {
    const s = await open(['--platform', '6', '--version', '5.3.2']);
    try {
      expect(await s.identify()).toEqual({ ok: true, value: { deviceId: ID } });
      expect(await s.systemVersion()).toEqual({ ok: true, value: '5.3.2' });
      const info = await s.moduleInfo();
      expect(info.ok && info.value.p).toBe(6);
      expect(info.ok && info.value.m.map((m) => m.f)).toEqual(['b', 's', 'u']);
    } finally {
      await s.close();
    }
  });

  it('reads IMEI and ICCID from a cellular device, in either format Device OS used', async () => {
    for (const legacy of [false, true]) {
      const s = await open([
        '--platform',
        '13',
        '--imei',
        IMEI,
        '--iccid',
        ICCID,
        ...(legacy ? ['--legacy-id-format'] : []),
      ]);
      try {
        expect(await s.identify({ cellular: true })).toEqual({
          ok: true,
          value: { deviceId: ID, imei: IMEI, iccid: ICCID },
        });
      } finally {
        await s.close();
        await device?.stop();
        device = undefined;
      }
    }
  });

  it('reads Device OS 6.2’s key/value listing: serial number, IMEI, ICCID; blank lines end the wait', async () => {
    const s = await open([
      '--platform',
      '13',
      '--id-format',
      'device-os',
      '--serial-number',
      'S013LS612ABCDEF',
      '--device-secret',
      'TOPSECRET123456',
      '--imei',
      IMEI,
      '--iccid',
      ICCID,
    ]);
    try {
      const r = await s.identify({ cellular: true, serialNumber: true });
      expect(r).toEqual({
        ok: true,
        value: { deviceId: ID, imei: IMEI, iccid: ICCID, serialNumber: 'S013LS612ABCDEF' },
      });
      expect(JSON.stringify(r)).not.toContain('TOPSECRET');
    } finally {
      await s.close();
      await device?.stop();
      device = undefined;
    }
    // A modem that gave nothing: blank IMEI/ICCID lines are a complete answer, not a wait.
    const blank = await open(['--platform', '13', '--id-format', 'device-os', '--cellular']);
    try {
      expect(await blank.identify({ cellular: true, timeoutMs: 60_000 })).toEqual({
        ok: true,
        value: { deviceId: ID },
      });
    } finally {
      await blank.close();
    }
  });

  it('settles for the ID alone when a cellular modem never reports IMEI/ICCID', async () => {
    const s = await open(['--platform', '13']);
    try {
      expect(await s.identify({ cellular: true, timeoutMs: ANSWER_MS })).toEqual({
        ok: true,
        value: { deviceId: ID },
      });
    } finally {
      await s.close();
    }
  });

  it('reassembles answers that arrive a few bytes at a time, after log noise', async () => {
    const s = await open([
      '--chunk-size',
      '3',
      '--chunk-delay',
      '2',
      '--noise',
      '0000001234 [system] INFO: {"noise\\r\\n',
    ]);
    try {
      expect(await s.identify()).toEqual({ ok: true, value: { deviceId: ID } });
      expect(await s.systemVersion()).toEqual({ ok: true, value: '5.3.2' });
    } finally {
      await s.close();
    }
  });

  it('names a device that is not in listening mode', async () => {
    const s = await open(['--mode', 'normal']);
    try {
      const r = await s.identify({ timeoutMs: 400 });
      expect(r.ok ? '' : r.error.code).toBe('LISTENING_NO_RESPONSE');
      expect(r.ok ? '' : r.error.remedy).toMatch(/listening mode/);
    } finally {
      await s.close();
    }
  });

  it('names an answer cut off half-way', async () => {
    const s = await open(['--truncate-at', '0.6']);
    try {
      const r = await s.identify({ timeoutMs: ANSWER_MS });
      expect(r.ok ? '' : r.error.code).toBe('LISTENING_PARTIAL_REPLY');
      const m = await s.moduleInfo({ timeoutMs: ANSWER_MS });
      expect(m.ok ? '' : m.error.code).toBe('LISTENING_PARTIAL_REPLY');
    } finally {
      await s.close();
    }
  });

  it('names an application that only prints its own logs', async () => {
    const s = await open(['--mode', 'normal', '--log-every', '50']);
    try {
      const r = await s.systemVersion({ timeoutMs: ANSWER_MS });
      expect(r.ok ? '' : r.error.code).toBe('LISTENING_UNEXPECTED_REPLY');
    } finally {
      await s.close();
    }
  });
});

describe('opening a serial port that is not there', () => {
  it('is SERIAL_NOT_FOUND, not a crash', async () => {
    const r = await openListeningSerial('/dev/does-not-exist-linestation');
    expect(r.ok ? '' : r.error.code).toBe('SERIAL_NOT_FOUND');
  });
});
