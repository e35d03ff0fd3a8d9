import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { buildModule, parseModule } from '../../../core/firmware';
import { FLAG_DROP_MODULE_INFO } from '../../../core/firmware/module-prefix';
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
const InstallJson = z.object({
  ok: z.boolean(),
  verified: z.boolean(),
  device: z.object({ id: z.string().nullable(), portPath: z.string() }),
  timings: z.object({ totalMs: z.number() }).optional(),
  plan: z.object({
    steps: z.array(z.object({ path: z.string(), kind: z.string(), label: z.string().optional() })),
  }),
  modules: z.array(z.object({ name: z.string(), path: z.string(), outcome: z.string(), ms: z.number() })),
  backInNormalMode: z.boolean().optional(),
  reenumerationMs: z.number().optional(),
  setupDone: z.string().optional(),
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
export const ensureMode = async (
  ctx: RigContext,
  deviceId: string,
  mode: 'normal' | 'dfu',
): Promise<void> => {
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

interface SetModule {
  readonly name: string;
  readonly bytes: Buffer;
  readonly address: number;
  readonly version: number;
  /** The SHA-256 in its suffix: what MODULE_INFO reports for it (Device OS ≥ 5.6). */
  readonly sha: string;
  /** What lands in flash: a SoftDevice drops its module prefix (DROP_MODULE_INFO). */
  readonly written: Buffer;
}

/**
 * A whole Gen 3 set for the Boron, generated (Particle's SoftDevice binaries are per platform and
 * the fixtures hold only the Argon's): a bootloader (normal mode), a SoftDevice that drops its
 * prefix as the real one does, and a user part for the Device OS the device runs (DFU).
 */
const wholeGen3Set = (systemVersion: number): SetModule[] => {
  // Device OS finds a Gen 3 prefix at 0x200 only behind a vector table (an initial stack pointer).
  const sp = 0x2003fc00;
  const specs: [string, Parameters<typeof buildModule>[0]][] = [
    [
      'bootloader.bin',
      { platformId: 13, function: 'bootloader', version: 3100, bodySize: 3000, initialStackPointer: sp },
    ],
    [
      'softdevice.bin',
      { platformId: 13, function: 'radio', version: 204, bodySize: 12_000, flags: FLAG_DROP_MODULE_INFO },
    ],
    [
      'app.bin',
      {
        platformId: 13,
        function: 'user',
        bodySize: 2000,
        product: { id: 4242, version: 7 },
        dependencies: [{ function: 'system', index: 1, version: systemVersion }],
      },
    ],
  ];
  return specs.map(([name, spec]) => {
    const bytes = Buffer.from(buildModule(spec));
    const parsed = parseModule(name, bytes);
    if (!parsed.ok) throw new Error(`${name}: ${parsed.error.message}`);
    const m = parsed.module;
    const drop = (m.flags & FLAG_DROP_MODULE_INFO) !== 0;
    return {
      name,
      bytes,
      address: m.startAddress,
      version: m.version,
      sha: m.fwUniqueId,
      written: drop ? bytes.subarray(m.prefixOffset + 24) : bytes,
    };
  });
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
    name: 'cli-install-set',
    title:
      'linestation flash installs a whole Gen 3 set on the Boron: bootloader in normal mode (250/253/251, reset, applied at boot), SoftDevice + user part over DFU',
    timeoutMs: 300_000,
    async run(ctx, measure) {
      await ensureMode(ctx, ctx.boron, 'normal');
      const before = await ctx.server.device(ctx.boron);
      const system = before.modules.find((m) => m.func === 4 && m.index === 1);
      expect(system, 'the emulated Boron lists no system part');
      const set = wholeGen3Set(system?.version ?? 0);
      const dir = join(ctx.out, 'install-set');
      mkdirSync(dir, { recursive: true });
      const files = set.map((m) => {
        const file = join(dir, m.name);
        writeFileSync(file, m.bytes);
        return file;
      });
      const since = ctx.server.notices.length;
      const r = await linestation(ctx, ['flash', '--device', ctx.boron, '--json', ...files], 260_000);
      measure('flash_s', Number((r.ms / 1000).toFixed(2)));
      const result = InstallJson.parse(jsonOf(r, 'linestation flash --json'));
      expect(r.code === 0 && result.ok, `linestation flash failed: ${said(r)}`);
      expect(result.verified, 'the install is not verified');
      expect(result.backInNormalMode, 'the install does not say the Boron came back in normal mode');
      expectEqual(result.device.id, ctx.boron, 'installed device ID');
      // The plan: the bootloader in normal mode first (the device was found running), then DFU.
      expectEqual(
        result.plan.steps.map((s) => s.path),
        ['normal', 'dfu', 'dfu', 'dfu'],
        'plan paths (bootloader, SoftDevice, the pre-3.1 user part erase, user part)',
      );
      expectEqual(
        result.modules.map((m) => `${m.name}@${m.path}:${m.outcome}`),
        [
          'bootloader.bin@normal:written',
          'softdevice.bin@dfu:written',
          'erase the pre-3.1 user part at 0x000D4000@dfu:written',
          'app.bin@dfu:written',
        ],
        'modules written',
      );
      measure('bootloader_normal_mode_ms', result.modules[0]?.ms ?? -1);
      measure('dfu_total_ms', Math.round(result.timings?.totalMs ?? -1));
      if (result.reenumerationMs !== undefined) measure('back_after_leave_ms', result.reenumerationMs);
      // Through the kernel the device left and came back three times, in this order: the reset
      // after FINISH (the bootloader applies the update before Device OS enumerates again), the
      // DFU_MODE request, and the DFU leave. Each came back on the same port with its new PID.
      const boron = ctx.server.notices
        .slice(since)
        .filter((n) => 'deviceId' in n && n.deviceId === ctx.boron)
        .map((n) =>
          n.notice === 'detached'
            ? `detached: ${n.reason}`
            : n.notice === 'attached'
              ? `attached ${n.productId.toString(16)}`
              : `${n.notice}`,
        );
      measure('bus_events', boron.join(' | '));
      expectEqual(
        boron,
        [
          'detached: firmware update',
          'attached c00d',
          'detached: DFU_MODE request',
          'attached d00d',
          'detached: DFU leave',
          'attached c00d',
        ],
        'the Boron on the bus',
      );
      // The device's own word (MODULE_INFO): the new bootloader and the user part, valid, with their
      // own SHA-256; the system part untouched.
      const after = await ctx.server.device(ctx.boron);
      expectEqual([after.mode, after.productId], ['normal', 0xc00d], 'Boron mode and PID after');
      const listed = (func: number) => {
        const m = after.modules.find((x) => x.func === func);
        return m ? { version: m.version, valid: m.valid, sha: m.hash } : undefined;
      };
      const want = (name: string) => {
        const m = set.find((x) => x.name === name);
        return { version: m?.version, valid: true, sha: m?.sha };
      };
      expectEqual(listed(2), want('bootloader.bin'), 'bootloader in MODULE_INFO');
      expectEqual(listed(5), want('app.bin'), 'user part in MODULE_INFO');
      expectEqual(listed(4)?.version, system?.version, 'system part version (untouched)');
      measure(
        'bootloader_version',
        `${before.modules.find((m) => m.func === 2)?.version} -> ${listed(2)?.version}`,
      );
      // And the flash: every image at its address, the old user part's first page erased.
      for (const m of set) {
        const flash = await ctx.server.readFlash(ctx.boron, m.address, m.written.length);
        expect(
          flash.equals(m.written),
          `${m.name}: the emulated flash at 0x${m.address.toString(16)} differs`,
        );
      }
      const legacy = await ctx.server.readFlash(ctx.boron, 0xd4000, 4096);
      expect(
        legacy.every((b) => b === 0xff),
        'the first page of the pre-3.1 user part (0xD4000) is not erased',
      );
      measure('reenumerations', after.stats.reenumerations - before.stats.reenumerations);
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
