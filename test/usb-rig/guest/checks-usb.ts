import { DfuSession } from '../../../core/dfu/session';
import { readDfuProtection } from '../../../core/particle/protection';
import { readStringDescriptor } from '../../../core/usb/descriptors';
import { NodeUsbTransport } from '../../../core/usb/node-usb';
import { ensureMode } from './checks-cli';
import type { RigContext } from './context';
import { type Check, expect, expectEqual, within } from './harness';

/*
 * The product's own USB code (usb@3, core/dfu, core/particle) in the guest process, against the
 * emulated devices, for what no CLI command prints on its own.
 */

export const usbChecks: Check<RigContext>[] = [
  {
    name: 'dfu-security-string',
    title:
      'in DFU mode the Boron (Device OS 6.2.1) answers string 0xFA with sm=o through the kernel; readDfuProtection takes it from there, not from the layout',
    timeoutMs: 90_000,
    async run(ctx, measure) {
      await ensureMode(ctx, ctx.boron, 'dfu');
      const transport = new NodeUsbTransport();
      const info = (await transport.list()).find((d) => d.serialNumber === ctx.boron);
      expect(info, 'usb@3 does not list the Boron');
      if (!info) return;
      const signal = AbortSignal.timeout(30_000);
      const handle = await within(15_000, 'opening the Boron', transport.open(info, { signal }));
      try {
        const text = await readStringDescriptor(handle, 0xfa, { signal, timeoutMs: 2000 });
        measure('string_0xfa', String(text));
        expectEqual(text, 'sm=o', 'string descriptor 0xFA');
        const session = await DfuSession.open(handle, { signal });
        try {
          const p = await readDfuProtection(session, { signal, timeoutMs: 2000 });
          expect(p.ok, `readDfuProtection failed: ${p.ok ? '' : `${p.error.code} ${p.error.message}`}`);
          if (p.ok)
            expectEqual([p.value.mode, p.value.source], ['open', 'dfu-descriptor'], 'protection read');
          // The alt setting strings still come through (FunctionFS numbers them after 0xFA).
          expectEqual(
            session.alts.map((a) => a.name.split('/')[0]?.trim()),
            ['@Internal Flash', '@DCD Flash', '@External Flash'],
            'Boron DFU alt setting names',
          );
        } finally {
          await session.close();
        }
      } finally {
        await handle.close().catch(() => undefined);
      }
    },
  },
];
