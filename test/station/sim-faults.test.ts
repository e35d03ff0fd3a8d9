import { describe, expect, it } from 'vitest';
import { faultsFor, parseSimFaults, seeded } from '../../core/station/sim-faults';

describe('parseSimFaults', () => {
  it('reads kinds, rates and the seed', () => {
    const r = parseSimFaults('unplug=0.5, verify ,seed=7');
    expect(r.ok && r.value).toEqual({ rates: { unplug: 0.5, verify: 0.1 }, seed: 7 });
    expect(parseSimFaults(undefined).ok).toBe(true);
  });

  it('names what is wrong', () => {
    const bad = parseSimFaults('unplog=0.2');
    expect(!bad.ok && bad.error.code).toBe('SIM_FAULTS_INVALID');
    expect(!bad.ok && bad.error.remedy).toMatch(/unplug/);
    expect(parseSimFaults('unplug=2').ok).toBe(false);
  });
});

describe('faultsFor', () => {
  const image = { address: 0xb4000, size: 8192 };
  it('is the same for the same seed and device, so a restarted run replays it', () => {
    const plan = { rates: { unplug: 0.5, stall: 0.5 }, seed: 3 };
    expect(faultsFor(plan, 4, image)).toEqual(faultsFor(plan, 4, image));
  });

  it('applies a kind with rate 1 to every device, and keeps addresses inside the image', () => {
    const plan = { rates: { verify: 1, 'wrong-platform': 1 }, seed: 1 };
    for (let i = 0; i < 20; i++) {
      const c = faultsFor(plan, i, image);
      expect(c.wrongPlatform).toBe(true);
      const a = c.faults.flipBitAfterProgram?.address ?? -1;
      expect(a >= image.address && a < image.address + image.size).toBe(true);
    }
    expect(faultsFor({ rates: {}, seed: 1 }, 0, image)).toEqual({
      faults: {},
      wrongPlatform: false,
      kinds: [],
    });
  });

  it('draws numbers in [0, 1)', () => {
    const r = seeded(5);
    for (let i = 0; i < 1000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it('the update/setup/protection kinds map to their device faults and leave the older kinds’ draws alone', () => {
    const later = { 'update-refused': 1, 'ncp-reset': 1, 'old-version': 1, 'setup-lost': 1, protected: 1 };
    const c = faultsFor({ rates: later, seed: 2 }, 3, image);
    expect(c.faults).toMatchObject({
      resetDuringNcpUpdate: true,
      updateNotApplied: true,
      setupDoneLost: true,
    });
    expect(c.faults.refuseUpdate?.result).toBeLessThan(0);
    expect([1, 2]).toContain(c.faults.protectAfterResets);
    const before = faultsFor({ rates: { unplug: 1, stall: 1 }, seed: 9 }, 5, image);
    const after = faultsFor({ rates: { unplug: 1, stall: 1, ...later }, seed: 9 }, 5, image);
    expect(after.faults).toMatchObject(before.faults);
  });

  it('the identity kinds map to serialUnreadable and a missing SIM, and leave every earlier draw alone', () => {
    const c = faultsFor({ rates: { 'serial-unreadable': 1, 'no-sim': 1 }, seed: 4 }, 2, image);
    expect(c.faults).toEqual({ serialUnreadable: true, iccidUnreadable: 'no-sim' });
    expect(c.kinds).toEqual(['serial-unreadable', 'no-sim']);
    const rates = { unplug: 0.5, stall: 0.5, 'update-refused': 0.5, protected: 0.5 };
    for (let i = 0; i < 20; i++) {
      const before = faultsFor({ rates, seed: 9 }, i, image);
      const after = faultsFor(
        { rates: { ...rates, 'serial-unreadable': 0.5, 'no-sim': 0.5 }, seed: 9 },
        i,
        image,
      );
      expect(after.faults).toMatchObject(before.faults);
      expect(after.kinds.filter((k) => k !== 'serial-unreadable' && k !== 'no-sim')).toEqual(before.kinds);
    }
  });
});
