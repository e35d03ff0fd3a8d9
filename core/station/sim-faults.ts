import { seededRandom } from '../cloud/mock-faults';
import { err, ok, type Result } from '../errors/result';
// Type-only: this file is simulation support (run --simulate, demo, tests, bench); nothing of
// core/sim is loaded by importing it.
import type { SimFaults } from '../sim/types';

/**
 * `--sim-faults` spec: comma-separated `kind[=rate]` plus an optional `seed=N`. Each simulated
 * device independently gets each kind with probability `rate` (default 0.1) on its first plug-in.
 *   unplug         pulled out mid-download        stall        one control request STALLs
 *   erase-unplug   pulled out mid-erase           verify       a bit flips after programming
 *   never-back     never re-enumerates            wrong-id     comes back with another ID
 *   slow           3x slower device               busy         answers BUSY twice at first
 *   wrong-platform an argon on a boron line (or the reverse)
 *   update-refused a normal-mode update is refused once with a Device OS result code
 *   ncp-reset      resets half-way through an NCP update (keeps the old NCP)
 *   old-version    accepts an update but comes back with the old version
 *   setup-lost     the setup-done flag (Gen 3, Device OS < 4) is lost at each reset
 *   protected      Device Protection turns on after the 1st or 2nd reset
 *   serial-unreadable  no readable serial number (blank OTP): GET_SERIAL_NUMBER fails
 *   no-sim         the modem finds no SIM: the ICCID and IMEI cannot be read
 */
export const SIM_FAULT_KINDS = [
  'unplug',
  'erase-unplug',
  'stall',
  'verify',
  'never-back',
  'wrong-id',
  'slow',
  'busy',
  'wrong-platform',
  'update-refused',
  'ncp-reset',
  'old-version',
  'setup-lost',
  'protected',
  'serial-unreadable',
  'no-sim',
] as const;
export type SimFaultKind = (typeof SIM_FAULT_KINDS)[number];
const FIRST_LATER_KIND = SIM_FAULT_KINDS.indexOf('update-refused');
const FIRST_IDENTITY_KIND = SIM_FAULT_KINDS.indexOf('serial-unreadable');

/** Device OS result codes a refused normal-mode update answers (START, DATA or FINISH). */
const UPDATE_REFUSALS = [-210, -1380, -1351, -290, -1330, -1340, -1360, -1370, -1310, -1801] as const;

export interface SimFaultPlan {
  readonly rates: Readonly<Partial<Record<SimFaultKind, number>>>;
  readonly seed: number;
}

export const parseSimFaults = (spec: string | undefined): Result<SimFaultPlan> => {
  const rates: Partial<Record<SimFaultKind, number>> = {};
  let seed = 1;
  for (const part of (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', value] = part.split('=');
    const rate = value === undefined ? 0.1 : Number(value);
    if (name === 'seed') {
      if (!Number.isSafeInteger(rate))
        return err('SIM_FAULTS_INVALID', `seed must be a whole number, got "${value}".`);
      seed = rate;
      continue;
    }
    if (!(SIM_FAULT_KINDS as readonly string[]).includes(name))
      return err('SIM_FAULTS_INVALID', `Unknown simulated fault "${name}".`, {
        remedy: `Use any of: ${SIM_FAULT_KINDS.join(', ')} (each optionally =rate, e.g. unplug=0.2), and seed=N.`,
      });
    if (!(rate >= 0 && rate <= 1))
      return err('SIM_FAULTS_INVALID', `The rate of ${name} must be between 0 and 1.`);
    rates[name as SimFaultKind] = rate;
  }
  return ok({ rates, seed });
};

/** A small deterministic PRNG (mulberry32) so a fault run can be replayed from its seed. */
export const seeded: (seed: number) => () => number = seededRandom;

export interface SimDeviceChoice {
  readonly faults: SimFaults;
  readonly wrongPlatform: boolean;
  readonly kinds: readonly SimFaultKind[];
}

/**
 * The faults of device `index`: decided from the seed and the index alone, so a restarted run
 * (after a crash) gives each device the same faults again.
 */
export const faultsFor = (
  plan: SimFaultPlan,
  index: number,
  image: { address: number; size: number },
): SimDeviceChoice => {
  const rnd = seeded(plan.seed * 1_000_003 + index);
  // Kinds added after the first nine draw from their own stream, and the identity kinds from a
  // third, so a seed replays the faults it gave before they existed.
  const rnd2 = seeded(plan.seed * 1_000_003 + index + 0x5eed);
  const rnd3 = seeded(plan.seed * 1_000_003 + index + 0x1d3e);
  const kinds = SIM_FAULT_KINDS.filter(
    (k, i) => (i < FIRST_LATER_KIND ? rnd : i < FIRST_IDENTITY_KIND ? rnd2 : rnd3)() < (plan.rates[k] ?? 0),
  );
  const f: { -readonly [K in keyof SimFaults]: SimFaults[K] } = {};
  for (const k of kinds) {
    if (k === 'unplug') f.disconnectAfterBytes = 1 + Math.floor(rnd() * Math.max(1, image.size - 1));
    if (k === 'erase-unplug') f.disconnectDuringErase = 1;
    if (k === 'stall') f.stallOnRequest = 1 + Math.floor(rnd() * 30);
    if (k === 'verify')
      f.flipBitAfterProgram = {
        address: image.address + Math.floor(rnd() * image.size),
        bit: Math.floor(rnd() * 8),
      };
    if (k === 'never-back') f.neverComesBack = true;
    if (k === 'wrong-id') f.comesBackWithId = 'ffffffffffffffffffffffff';
    if (k === 'slow') f.slowFactor = 3;
    if (k === 'busy') f.busyReplies = 2;
    if (k === 'update-refused')
      f.refuseUpdate = { result: UPDATE_REFUSALS[Math.floor(rnd2() * UPDATE_REFUSALS.length)] ?? -1330 };
    if (k === 'ncp-reset') f.resetDuringNcpUpdate = true;
    if (k === 'old-version') f.updateNotApplied = true;
    if (k === 'setup-lost') f.setupDoneLost = true;
    if (k === 'protected') f.protectAfterResets = 1 + Math.floor(rnd2() * 2);
    if (k === 'serial-unreadable') f.serialUnreadable = true;
    if (k === 'no-sim') f.iccidUnreadable = 'no-sim';
  }
  return { faults: f, wrongPlatform: kinds.includes('wrong-platform'), kinds };
};
