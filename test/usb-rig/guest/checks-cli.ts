import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { buildModule, parseModule } from '../../../core/firmware';
import { openListeningSerial } from '../../../core/particle/listening-serial';
import { makeDeviceId } from '../../../core/sim/device';
import type { Notice } from '../../../core/sim/functionfs/protocol';
import { jsonOf, linestation, said } from './cli';
import { photonImage, type RigContext } from './context';
import { type Check, expect, expectEqual, within } from './harness';

/*
 * Items 3 to 7: the linestation CLI, through the real usb@3 adapter and serialport, against the
 * emulated devices behind the kernel's USB host stack.
 */

const FlashJson = z.object({
  ok: z.boolean(),
  verified: z.boolean(),
  left: z.boolean(),
  bytes: z.number(),
  device: z.object({ id: z.string().nullable(), portPath: z.string() }),
  error: z
    .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() })
    .optional(),
});
const DevicesJson = z.object({
  devices: z.array(
    z.object({
      portPath: z.string(),
      deviceId: z.string().nullable(),
      platform: z.string().nullable(),
      mode: z.string(),
      serialPath: z.string().nullable(),
    }),
  ),
});
const DfuJson = z.object({
  results: z.array(
    z.object({ deviceId: z.string().nullable().optional(), ok: z.boolean(), portPath: z.string() }),
  ),
});

const attachedAs =
  (deviceId: string, productId: number) =>
  (n: Notice): boolean =>
    n.notice === 'attached' && n.deviceId === deviceId && n.productId === productId;

/** Puts an emulated device into `mode` the way firmware gets there, and waits until it enumerated. */
const ensureMode = async (ctx: RigContext, deviceId: string, mode: 'normal' | 'dfu'): Promise<void> => {
  const s = await ctx.server.device(deviceId);
  const pid = mode === 'dfu' ? 0xd000 | (s.productId & 0xff) : 0xc000 | (s.productId & 0xff);
  if (s.mode === mode && s.bound) return;
  const since = ctx.server.notices.length;
  await ctx.server.request({ cmd: 'reset', device: deviceId, target: mode });
  await ctx.server.waitFor(
    attachedAs(deviceId, pid),
    30_000,
    `${deviceId} to enumerate in ${mode} mode`,
    since,
  );
  // The host needs a moment to enumerate it (usbfs node, udev, cdc-acm).
  await new Promise((r) => setTimeout(r, 1500));
};

const devices = async (ctx: RigContext) => {
  const r = await linestation(ctx, ['devices', '--json']);
  expectEqual(r.code, 0, `linestation devices --json (${said(r)})`);
  return DevicesJson.parse(jsonOf(r, 'linestation devices --json')).devices;
};

export const cliChecks: Check<RigContext>[] = [
  {
    name: 'cli-flash',
    title:
      'linestation flash --device ID flashes through usb@3 with verify and leave; the device flash equals the image',
    timeoutMs: 240_000,
    async run(ctx, measure) {
      await ensureMode(ctx, ctx.photon, 'dfu');
      const image = photonImage(ctx, '043_user-part.bin', {
        platformId: 6,
        function: 'user',
        bodySize: 2048,
      });
      const file = join(ctx.out, 'cli-flash-user.bin');
      writeFileSync(file, image.bytes);
      const since = ctx.server.notices.length;
      const r = await linestation(ctx, ['flash', '--device', ctx.photon, '--json', file], 200_000);
      measure('flash_s', Number((r.ms / 1000).toFixed(2)));
      const result = FlashJson.parse(jsonOf(r, 'linestation flash --json'));
      expect(r.code === 0 && result.ok, `linestation flash failed: ${said(r)}`);
      expect(result.verified, 'the flash result is not verified');
      expect(result.left, 'the device did not leave DFU mode');
      expectEqual(result.device.id, ctx.photon, 'flashed device ID');
      // Leave makes the device reset into its application: it comes back in normal mode.
      await ctx.server.waitFor(
        attachedAs(ctx.photon, 0xc006),
        30_000,
        'the Photon to come back in normal mode',
        since,
      );
      const flash = await ctx.server.readFlash(ctx.photon, image.address, image.bytes.length);
      expect(flash.equals(image.bytes), 'the emulated flash differs from the image');
    },
  },
  {
    name: 'cli-devices-dfu',
    title:
      'linestation devices --json sees the Photon in normal mode; linestation dfu --device ID brings it to DFU on the same port',
    timeoutMs: 240_000,
    async run(ctx, measure) {
      await ensureMode(ctx, ctx.photon, 'normal');
      const before = (await devices(ctx)).find((d) => d.deviceId === ctx.photon);
      expect(before, 'linestation devices does not list the Photon');
      expectEqual(before?.mode, 'normal', 'Photon mode before');
      expectEqual(before?.platform, 'photon', 'Photon platform');
      expect(
        before?.serialPath?.startsWith('/dev/ttyACM'),
        `no CDC serial port for the Photon: ${before?.serialPath}`,
      );
      const since = ctx.server.notices.length;
      const r = await linestation(ctx, ['dfu', '--device', ctx.photon, '--json'], 120_000);
      measure('dfu_s', Number((r.ms / 1000).toFixed(2)));
      const result = DfuJson.parse(jsonOf(r, 'linestation dfu --json'));
      expect(
        r.code === 0 && result.results.length === 1 && result.results[0]?.ok,
        `linestation dfu failed: ${said(r)}`,
      );
      await ctx.server.waitFor(attachedAs(ctx.photon, 0xd006), 10_000, 'the Photon in DFU mode', since);
      const s = await ctx.server.device(ctx.photon);
      expectEqual([s.mode, s.productId], ['dfu', 0xd006], 'emulated Photon mode and PID');
      await new Promise((r) => setTimeout(r, 1000));
      const after = (await devices(ctx)).find((d) => d.deviceId === ctx.photon);
      expectEqual(
        [after?.mode, after?.portPath],
        ['dfu', before?.portPath],
        'Photon mode and port path after',
      );
    },
  },
  {
    name: 'listening-serial',
    title:
      'listening mode: linestation devices finds the CDC tty and "i" returns the device ID over /dev/ttyACM*',
    timeoutMs: 120_000,
    async run(ctx, measure) {
      await ensureMode(ctx, ctx.photon, 'normal');
      await ctx.server.request({ cmd: 'listen', device: ctx.photon });
      const entry = (await devices(ctx)).find((d) => d.deviceId === ctx.photon);
      expect(entry, 'linestation devices does not list the Photon');
      expectEqual(entry?.mode, 'listening', 'Photon mode');
      const path = entry?.serialPath ?? '';
      expect(path.startsWith('/dev/ttyACM'), `no /dev/ttyACM* for the Photon: ${path}`);
      measure('tty', path);
      const opened = await within(15_000, `opening ${path}`, openListeningSerial(path));
      expect(opened.ok, `cannot open ${path}: ${opened.ok ? '' : opened.error.message}`);
      if (!opened.ok) return;
      try {
        const id = await within(20_000, '"i" over serial', opened.value.identify({ timeoutMs: 10_000 }));
        expect(id.ok, `"i" failed: ${id.ok ? '' : `${id.error.code} ${id.error.message}`}`);
        if (id.ok) expectEqual(id.value.deviceId, ctx.photon, 'device ID over serial');
      } finally {
        await within(10_000, `closing ${path}`, opened.value.close());
      }
    },
  },
  {
    name: 'unplug-mid-flash',
    title: 'unplugging during the download gives a named error within the timeout, no hang, no PASS',
    timeoutMs: 180_000,
    async run(ctx, measure) {
      await ensureMode(ctx, ctx.photon, 'dfu');
      const image = photonImage(ctx, '043_system-part1.bin', {
        platformId: 6,
        function: 'system',
        index: 1,
        bodySize: 240_000,
      });
      const file = join(ctx.out, 'unplug-system-part1.bin');
      writeFileSync(file, image.bytes);
      await ctx.server.request({ cmd: 'unplug-after-bytes', device: ctx.photon, bytes: 64 * 1024 });
      const r = await linestation(ctx, ['flash', '--device', ctx.photon, '--json', file], 150_000);
      measure('failed_after_s', Number((r.ms / 1000).toFixed(2)));
      const s = await ctx.server.device(ctx.photon);
      measure('programmed_before_unplug', s.stats.bytesProgrammed);
      expect(!s.bound, 'the emulated Photon was never unplugged');
      const result = FlashJson.parse(jsonOf(r, 'linestation flash --json'));
      expectEqual(r.code, 4, `linestation flash exit code (${said(r)})`);
      expect(!result.ok && !result.verified, 'the flash claims success');
      const code = result.error?.code ?? '';
      measure('error', `${code}: ${result.error?.message ?? ''}`);
      expect(/^(USB|DFU)_[A-Z_]+$/.test(code), `not a named USB/DFU error: "${code}"`);
      // The kernel STALLs the request in flight a moment before the device leaves the bus; the
      // product must still name it a disconnect (the operator's remedy is the cable, not the file).
      expectEqual(code, 'USB_DISCONNECTED', `error code (${result.error?.message ?? ''})`);
      const goneAfter = result.error?.details?.goneAfterMs;
      if (typeof goneAfter === 'number') measure('gone_after_stall_ms', goneAfter);
      // Plug it back in for whatever runs next. A power cycle does not keep DFU mode (the bootloader
      // consumed the DFU request), so it boots its application: the checks after this one must
      // bring it to the mode they need (ensureMode / the station's ensure-dfu step).
      await ctx.server.request({ cmd: 'power-on', device: ctx.photon });
    },
  },
  {
    name: 'cli-run-batch',
    title:
      'linestation run --batch RIG on two emulated Photons at once: both pass, both logged, both queued (offline)',
    timeoutMs: 300_000,
    async run(ctx, measure) {
      await ctx.server.stop();
      const a = makeDeviceId('usb-rig-batch-a');
      const b = makeDeviceId('usb-rig-batch-b');
      ctx.server = await ctx.startServer({
        devices: [
          { platform: 'photon', deviceId: a, mode: 'normal', timeScale: 0.05 },
          { platform: 'photon', deviceId: b, mode: 'normal', timeScale: 0.05 },
        ],
      });
      await new Promise((r) => setTimeout(r, 1500));
      const dir = join('/tmp', 'rig-batch');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      const fw = join(dir, 'user.bin');
      const module = buildModule({
        platformId: 6,
        function: 'user',
        bodySize: 8192,
        product: { id: 4242, version: 3 },
        dependencies: [{ function: 'system', index: 1, version: 3 }],
      });
      writeFileSync(fw, module);
      const parsed = parseModule(fw, module);
      expect(parsed.ok, 'the generated user part does not parse');
      const address = parsed.ok ? parsed.module.startAddress : 0;
      const profile = join(dir, 'profile.json');
      const init = await linestation(ctx, [
        'profile',
        'init',
        '--out',
        profile,
        '--org',
        'rig',
        '--product-id',
        '4242',
        '--slug',
        'rig',
        '--name',
        'Rig',
        '--platform',
        'photon',
        '--mode',
        'flash-on-line',
        '--auth',
        'simple',
        '--no-private-beta',
        '--offline',
        '--no-development',
        '--slots',
        '2',
        '--device-os',
        '3',
        fw,
      ]);
      expectEqual(init.code, 0, `profile init (${said(init)})`);
      const lock = await linestation(ctx, ['profile', 'lock', profile]);
      expectEqual(lock.code, 0, `profile lock (${said(lock)})`);
      const data = join(dir, 'data');
      const run = await linestation(
        ctx,
        [
          'run',
          '--profile',
          profile,
          '--batch',
          'RIG',
          '--offline',
          '--accept',
          'offline',
          '--count',
          '2',
          '--data-dir',
          data,
          '--json',
        ],
        // Two healthy devices take 12-20 s here; a device the station gave up on is never
        // reseated by anyone, so the run would wait for it forever.
        150_000,
      );
      measure('run_s', Number((run.ms / 1000).toFixed(2)));
      writeFileSync(join(ctx.out, 'run.jsonl'), run.stdout);
      expectEqual(run.code, 0, `linestation run exit code (${said(run)})`);
      const summary = z
        .object({
          type: z.literal('summary'),
          stats: z.object({ passed: z.number(), devicesPassed: z.number(), failed: z.number() }),
        })
        .parse(JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('{\n  "type": "summary"'))));
      expectEqual([summary.stats.passed, summary.stats.devicesPassed], [2, 2], 'passed attempts and devices');
      const outbox = await linestation(ctx, ['outbox', '--json', '--data-dir', data]);
      expectEqual(outbox.code, 0, `linestation outbox (${said(outbox)})`);
      const queued = JSON.stringify(jsonOf(outbox, 'linestation outbox --json'));
      expect(
        queued.includes(a) && queued.includes(b),
        `both device IDs are not in the outbox: ${queued.slice(0, 400)}`,
      );
      const logged = await linestation(ctx, ['export', 'RIG', '--data-dir', data]);
      expect(
        logged.code === 0 && logged.stdout.includes(a) && logged.stdout.includes(b),
        `the batch log misses a device (${said(logged)})`,
      );
      for (const id of [a, b]) {
        const flash = await ctx.server.readFlash(id, address, module.length);
        expect(
          flash.equals(Buffer.from(module)),
          `device ${id}: the emulated flash differs from the user part`,
        );
      }
    },
  },
];
