import { afterEach, describe, expect, it } from 'vitest';
import { type MemoryLayout, parseMemoryLayout } from '../../core/dfu/memory-layout';
import type { DfuAlt } from '../../core/dfu/session';
import { LsFailure } from '../../core/errors/result';
import {
  getProtectedState,
  parseSecurityModeString,
  protectedByLayout,
  readDfuProtection,
  SECURITY_MODE_STRING_INDEX,
} from '../../core/particle/protection';
import type { ControlSetup, UsbDeviceHandle } from '../../core/usb/transport';
import { fakeInfo } from './fake-control-device';
import { type FakeUpdateBehaviour, FakeUpdateDevice } from './fake-update-device';

const fast = { checkIntervals: [1] };

let dev: FakeUpdateDevice | undefined;
afterEach(() => dev?.dispose());

const open = async (b: FakeUpdateBehaviour = {}) => {
  dev = new FakeUpdateDevice(b);
  return dev.open(dev.info);
};

describe('GET_PROTECTED_STATE (76)', () => {
  it('reads open, protected and Service Mode', async () => {
    expect(await getProtectedState(await open(), fast)).toEqual({
      ok: true,
      value: { protected: false, overridden: false, mode: 'open', source: 'control-request' },
    });
    dev?.dispose();
    const p = await getProtectedState(await open({ protectedState: { state: true } }), fast);
    expect(p.ok && p.value).toMatchObject({ protected: true, mode: 'protected' });
    dev?.dispose();
    const s = await getProtectedState(await open({ protectedState: { overridden: true } }), fast);
    expect(s.ok && s.value).toMatchObject({ protected: false, overridden: true, mode: 'service' });
  });

  it('takes NOT_SUPPORTED (Device OS before 6) as not protected', async () => {
    const r = await getProtectedState(await open({ protectedState: { result: -120 } }), fast);
    expect(r.ok && r.value).toEqual({
      protected: false,
      overridden: false,
      mode: 'open',
      source: 'not-supported',
    });
  });

  it('names any other failure', async () => {
    const r = await getProtectedState(await open({ protectedState: { result: -100 } }), fast);
    expect(r.ok ? '' : r.error.code).toBe('PARTICLE_REQUEST_FAILED');
  });
});

describe('the DFU security-mode string (0xFA)', () => {
  it('parses sm=o|p|s among other pairs', () => {
    expect(parseSecurityModeString('sm=o')).toBe('open');
    expect(parseSecurityModeString('sm=p')).toBe('protected');
    expect(parseSecurityModeString('sm=s')).toBe('service');
    expect(parseSecurityModeString('v=1; sm = p ;x=2')).toBe('protected');
    expect(parseSecurityModeString('sm=x')).toBeUndefined();
    expect(parseSecurityModeString('')).toBeUndefined();
    expect(parseSecurityModeString('mode=p')).toBeUndefined();
  });
});

/** A DFU-mode handle answering GET_DESCRIPTOR(string 0xFA) with `text`, or STALLing. */
const dfuHandle = (
  text: string | undefined,
  failure = 'USB_STALL',
): UsbDeviceHandle & { asked: number[] } => {
  const asked: number[] = [];
  return {
    asked,
    info: fakeInfo(),
    async controlIn(setup: ControlSetup): Promise<Uint8Array> {
      asked.push(setup.value);
      if (
        setup.request !== 6 ||
        setup.value !== ((3 << 8) | SECURITY_MODE_STRING_INDEX) ||
        text === undefined
      )
        throw new LsFailure({ code: failure, message: failure });
      const body = Buffer.from(text, 'utf16le');
      return Uint8Array.from([body.length + 2, 3, ...body]);
    },
    async controlOut() {},
    async claimInterface() {},
    async releaseInterface() {},
    async selectAlternate() {},
    async close() {},
  };
};

const alt = (n: number, name: string): DfuAlt => {
  const layout = parseMemoryLayout(name);
  if (!layout.ok) throw new Error(layout.error.message);
  return { alt: n, name, layout: layout.value };
};
// Gen 3 layouts: as shipped, and as a protected pre-6.1.2 bootloader shows them (erasable only).
const OPEN_GEN3 = alt(0, '@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka');
const PROTECTED_GEN3 = alt(
  0,
  '@Internal Flash   /0x00000000/1*004Kb,47*004Kb,192*004Kb,4*004Kb,4*004Kb,8*004Kb',
);
const EXTERNAL = alt(2, '@External Flash   /0x80000000/1024*004Kg');

describe('readDfuProtection', () => {
  const opts = { timeoutMs: 1000 };

  it('reads the 0xFA string where the bootloader has it', async () => {
    const handle = dfuHandle('sm=p');
    const r = await readDfuProtection({ handle, alts: [OPEN_GEN3] }, opts);
    expect(r.ok && r.value).toEqual({
      protected: true,
      overridden: false,
      mode: 'protected',
      source: 'dfu-descriptor',
    });
    expect(handle.asked).toEqual([0x03fa]);
    const s = await readDfuProtection({ handle: dfuHandle('sm=s'), alts: [OPEN_GEN3] }, opts);
    expect(s.ok && s.value).toMatchObject({ protected: false, overridden: true, mode: 'service' });
  });

  it('falls back to the alt-0 layout before Device OS 6.1.2: protected when no segment is readable or writable', async () => {
    const p = await readDfuProtection(
      { handle: dfuHandle(undefined), alts: [PROTECTED_GEN3, EXTERNAL] },
      opts,
    );
    expect(p.ok && p.value).toEqual({
      protected: true,
      overridden: undefined,
      mode: 'protected',
      source: 'dfu-layout',
    });
    // Open and Service Mode look the same in a layout: only "not protected" is known.
    const o = await readDfuProtection({ handle: dfuHandle(undefined), alts: [OPEN_GEN3, EXTERNAL] }, opts);
    expect(o.ok && o.value).toEqual({
      protected: false,
      overridden: undefined,
      mode: undefined,
      source: 'dfu-layout',
    });
    // A string without a security mode falls back as well.
    const odd = await readDfuProtection({ handle: dfuHandle('v=2'), alts: [PROTECTED_GEN3] }, opts);
    expect(odd.ok && odd.value.source).toBe('dfu-layout');
  });

  it('judges a layout by every segment', () => {
    expect(protectedByLayout(PROTECTED_GEN3.layout as MemoryLayout)).toBe(true);
    expect(protectedByLayout(OPEN_GEN3.layout as MemoryLayout)).toBe(false);
    const mixed = parseMemoryLayout('@Internal Flash /0x08000000/03*016Kb,01*016Kg');
    expect(mixed.ok && protectedByLayout(mixed.value)).toBe(false);
  });

  it('does not guess when the device is gone or has no alt 0 layout', async () => {
    const gone = await readDfuProtection(
      { handle: dfuHandle(undefined, 'USB_DISCONNECTED'), alts: [OPEN_GEN3] },
      opts,
    );
    expect(gone.ok ? '' : gone.error.code).toBe('USB_DISCONNECTED');
    const none = await readDfuProtection({ handle: dfuHandle(undefined), alts: [EXTERNAL] }, opts);
    expect(none.ok ? '' : none.error.code).toBe('DFU_PROTECTION_UNKNOWN');
  });
});
