import { describe, expect, it } from 'vitest';
import { parseDfuUtilList } from './checks-dfu-util';

// The guest's dfu-util -l parser (test/usb-rig/guest/checks-dfu-util.ts), on dfu-util 0.11 output.

const OUTPUT = `dfu-util 0.11

Found DFU: [2b04:d006] ver=0200, devnum=2, cfg=1, intf=0, path="1-1", alt=1, name="@DCT Flash   /0x00000000/01*016Kg", serial="ccf3965d40ca62d8f4a11dbe"
Found DFU: [2b04:d006] ver=0200, devnum=2, cfg=1, intf=0, path="1-1", alt=0, name="@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg", serial="ccf3965d40ca62d8f4a11dbe"
Found DFU: [2b04:d00d] ver=0200, devnum=2, cfg=1, intf=0, path="2-1", alt=2, name="@External Flash   /0x80000000/1024*004Kg", serial="f8dda9c03808acd1a2167dce"
`;

describe('parseDfuUtilList', () => {
  it('reads VID/PID, port path, alt, name and serial of every line', () => {
    const entries = parseDfuUtilList(OUTPUT);
    expect(entries).toHaveLength(3);
    expect(entries[1]).toEqual({
      vid: 0x2b04,
      pid: 0xd006,
      path: '1-1',
      alt: 0,
      name: '@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg',
      serial: 'ccf3965d40ca62d8f4a11dbe',
    });
    expect(entries[2]).toMatchObject({
      pid: 0xd00d,
      path: '2-1',
      alt: 2,
      serial: 'f8dda9c03808acd1a2167dce',
    });
  });

  it('finds nothing in output without devices', () => {
    expect(parseDfuUtilList('dfu-util 0.11\n\nNo DFU capable USB device available\n')).toEqual([]);
  });
});
