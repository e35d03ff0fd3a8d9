import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { platformByName } from '../../../core/platforms';
import { photonImage, type RigContext } from './context';
import { type Check, expect, expectEqual, runProcess } from './harness';

/*
 * Items 1 and 2: dfu-util (libusb, the reference DFU host) against the emulated devices.
 */

interface DfuUtilEntry {
  readonly vid: number;
  readonly pid: number;
  readonly path: string;
  readonly alt: number;
  readonly name: string;
  readonly serial: string;
}

/** Parses `dfu-util -l` lines: Found DFU: [2b04:d006] ver=0200, devnum=2, cfg=1, intf=0, path="1-1", alt=0, name="...", serial="...". */
export const parseDfuUtilList = (text: string): DfuUtilEntry[] => {
  const out: DfuUtilEntry[] = [];
  const re =
    /Found DFU: \[([0-9a-f]{4}):([0-9a-f]{4})\].*?path="([^"]*)", alt=(\d+), name="([^"]*)", serial="([^"]*)"/g;
  for (const m of text.matchAll(re))
    out.push({
      vid: Number.parseInt(m[1] ?? '', 16),
      pid: Number.parseInt(m[2] ?? '', 16),
      path: m[3] ?? '',
      alt: Number(m[4]),
      name: m[5] ?? '',
      serial: m[6] ?? '',
    });
  return out;
};

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

export const dfuUtilChecks: Check<RigContext>[] = [
  {
    name: 'dfu-util-list',
    title: 'dfu-util -l lists the emulated Photon and Boron with VID/PID, serial and alt names',
    timeoutMs: 60_000,
    async run(ctx, measure) {
      const r = await runProcess('dfu-util', ['-l'], { timeoutMs: 30_000 });
      expectEqual(r.code, 0, 'dfu-util -l exit code');
      const entries = parseDfuUtilList(r.stdout);
      measure('entries', entries.length);
      for (const [name, id] of [
        ['photon', ctx.photon],
        ['boron', ctx.boron],
      ] as const) {
        const platform = platformByName(name);
        expect(platform, `platform ${name} in the table`);
        if (!platform) return;
        const mine = entries.filter((e) => e.serial === id);
        expect(mine.length > 0, `dfu-util did not list ${name} ${id}:\n${r.stdout}`);
        for (const e of mine) {
          expectEqual(
            `${hex4(e.vid)}:${hex4(e.pid)}`,
            `${hex4(platform.usb.dfuVendorId)}:${hex4(platform.usb.dfuProductId)}`,
            `${name} VID:PID`,
          );
        }
        expectEqual(
          mine.map((e) => [e.alt, e.name]).sort(),
          platform.dfu.altSettings.map((a) => [a.alt, a.layout]).sort(),
          `${name} alt settings`,
        );
        measure(`${name}.path`, mine[0]?.path ?? '');
      }
    },
  },
  {
    name: 'dfu-util-roundtrip',
    title: 'dfu-util -D writes a real Photon user part at its start address; -U reads back identical bytes',
    timeoutMs: 120_000,
    async run(ctx, measure) {
      const image = photonImage(ctx, '043_user-part.bin', {
        platformId: 6,
        function: 'user',
        bodySize: 2048,
      });
      measure('image', `${image.source} (${image.bytes.length} B at 0x${image.address.toString(16)})`);
      const file = join(ctx.out, 'user-part.bin');
      const back = join(ctx.out, 'user-part.readback.bin');
      writeFileSync(file, image.bytes);
      rmSync(back, { force: true });
      const dev = ['-d', '2b04:d006', '-S', ctx.photon, '-a', '0'];
      const down = await runProcess('dfu-util', [
        ...dev,
        '-s',
        `0x${image.address.toString(16)}`,
        '-D',
        file,
      ]);
      expectEqual(down.code, 0, `dfu-util -D exit code (${down.stderr.trim().split('\n').pop()})`);
      measure('download_s', Number((down.ms / 1000).toFixed(3)));
      const up = await runProcess('dfu-util', [
        ...dev,
        '-s',
        `0x${image.address.toString(16)}:${image.bytes.length}`,
        '-U',
        back,
      ]);
      expectEqual(up.code, 0, `dfu-util -U exit code (${up.stderr.trim().split('\n').pop()})`);
      measure('upload_s', Number((up.ms / 1000).toFixed(3)));
      const readBack = readFileSync(back);
      expect(
        readBack.equals(image.bytes),
        `dfu-util -U read back ${readBack.length} bytes that differ from the image`,
      );
      // And the device model itself holds the image (not just a loop through some buffer).
      const flash = await ctx.server.readFlash(ctx.photon, image.address, image.bytes.length);
      expect(flash.equals(image.bytes), 'the emulated flash differs from the image');
    },
  },
];
