import { describe, expect, it } from 'vitest';
import { customStringLayout, FIRST_CUSTOM_STRING, LAST_STRING } from '../../../core/sim/functionfs/configfs';

// Tests for core/sim/functionfs/configfs.ts: where fixed-number strings go (configfs itself needs a
// kernel; the USB rig's dfu-security-string check reads 0xFA through it).

describe('customStringLayout', () => {
  it('custom strings from 4 up to 0xFA, the fixed text at 0xFA', () => {
    expect(customStringLayout(new Map([[0xfa, 'sm=o']]), 4)).toEqual({
      top: 0xfa,
      texts: new Map([[0xfa, 'sm=o']]),
    });
  });

  it('none when no string is fixed', () => {
    expect(customStringLayout(new Map(), 5)).toEqual({ top: FIRST_CUSTOM_STRING - 1, texts: new Map() });
  });

  it('does not fit when the configuration and functions need more numbers than are left below 255', () => {
    // A Gen 3 bootloader's three alt settings and the configuration fit after 0xFA; a fifth does not.
    expect(customStringLayout(new Map([[0xfa, 'sm=o']]), 5)).toBeUndefined();
    expect(customStringLayout(new Map([[LAST_STRING, 'x']]), 0)?.top).toBe(LAST_STRING);
  });

  it('leaves the identity strings (1-3) to the identity, and orders the rest', () => {
    expect(
      customStringLayout(
        new Map([
          [0xf0, 'b'],
          [2, 'x'],
          [0x10, 'a'],
        ]),
        4,
      ),
    ).toEqual({
      top: 0xf0,
      texts: new Map([
        [0x10, 'a'],
        [0xf0, 'b'],
      ]),
    });
  });
});
