import { describe, expect, it } from 'vitest';
import {
  parseIdentification,
  parseModuleInfo,
  parseSystemVersion,
} from '../../core/particle/listening-serial';
import { ListeningResponder, listeningAnswer } from '../../core/sim/serial-listening';

const profile = {
  deviceId: '0123456789abcdef01234567',
  platformId: 13,
  systemVersion: '6.2.1',
  imei: '352753090000000',
  iccid: '89883030000012345678',
};

const collect = (faults = {}) => {
  const out: string[] = [];
  const r = new ListeningResponder(profile, (t) => out.push(t), faults);
  return { r, out };
};

describe('simulated listening-mode device', () => {
  it('answers i, v and s the way the host parsers read them', () => {
    const i = parseIdentification(listeningAnswer(profile, 'i') ?? '', true);
    expect(i?.value).toEqual({
      ok: true,
      value: { deviceId: profile.deviceId, imei: profile.imei, iccid: profile.iccid },
    });
    expect(parseSystemVersion(listeningAnswer(profile, 'v') ?? '')?.value).toEqual({
      ok: true,
      value: '6.2.1',
    });
    const s = parseModuleInfo(listeningAnswer(profile, 's') ?? '')?.value;
    expect(s?.ok && s.value.p).toBe(13);
    expect(s?.ok && s.value.m.length).toBe(3);
  });

  it('ignores unknown letters, and everything in normal or silent mode', () => {
    const a = collect();
    a.r.receive('xyz');
    expect(a.out).toEqual([]);
    for (const mode of ['normal', 'silent'] as const) {
      const b = collect({ mode });
      b.r.receive('ivs');
      expect(b.out).toEqual([]);
    }
  });

  it('truncates and prefixes noise when asked', () => {
    const { r, out } = collect({ truncateAt: 0.5, noise: 'LOG\r\n' });
    r.receive('v');
    const full = `LOG\r\nsystem firmware version: 6.2.1\n`;
    expect(out.join('')).toBe(full.slice(0, Math.floor(full.length / 2)));
  });

  it('dribbles an answer out in pieces', async () => {
    const { r, out } = collect({ chunkSize: 4, chunkDelayMs: 1 });
    r.receive('v');
    await new Promise((res) => setTimeout(res, 100));
    expect(out.length).toBeGreaterThan(5);
    expect(out.join('')).toBe('system firmware version: 6.2.1\n');
    r.stop();
  });
});
