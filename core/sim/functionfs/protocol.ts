import { z } from 'zod';
import type { SimModule } from '../types';

/*
 * The device server's control channel (Node IPC over `fork`): the guest checks and the benchmark
 * start the server as a separate process, so the host side under test reaches the devices only
 * through the kernel, and they inspect or disturb the devices through these messages.
 */

export const DeviceConfigSchema = z.object({
  platform: z.string(),
  deviceId: z.string().regex(/^[0-9a-f]{24}$/),
  mode: z.enum(['normal', 'listening', 'dfu']).default('dfu'),
  /** Scales the modelled device times (1 = real time). */
  timeScale: z.number().min(0).default(1),
  /** Pull the cable once this many firmware bytes have been programmed (the unplug check). */
  unplugAfterBytes: z.number().int().positive().optional(),
});
export type DeviceConfig = z.input<typeof DeviceConfigSchema>;

export const ServerConfigSchema = z.object({ devices: z.array(DeviceConfigSchema).min(1) });
export type ServerConfig = z.input<typeof ServerConfigSchema>;

export const RequestSchema = z.discriminatedUnion('cmd', [
  z.object({ id: z.number(), cmd: z.literal('status') }),
  z.object({
    id: z.number(),
    cmd: z.literal('read-flash'),
    device: z.string(),
    alt: z.number().int().default(0),
    address: z.number().int(),
    length: z.number().int().positive(),
  }),
  z.object({ id: z.number(), cmd: z.literal('power-off'), device: z.string() }),
  z.object({ id: z.number(), cmd: z.literal('power-on'), device: z.string() }),
  z.object({
    id: z.number(),
    cmd: z.literal('unplug-after-bytes'),
    device: z.string(),
    bytes: z.number().int().positive(),
  }),
  z.object({ id: z.number(), cmd: z.literal('reset-stats'), device: z.string() }),
  /** Reset into a mode as the firmware does (detach, re-enumerate with the new product ID). */
  z.object({
    id: z.number(),
    cmd: z.literal('reset'),
    device: z.string(),
    target: z.enum(['normal', 'dfu']),
  }),
  /** Enter listening mode in place (as the SETUP button or 28800 baud does; no re-enumeration). */
  z.object({ id: z.number(), cmd: z.literal('listen'), device: z.string() }),
  z.object({ id: z.number(), cmd: z.literal('stop') }),
]);
export type Request = z.input<typeof RequestSchema>;

/** One module as the emulated device lists it (MODULE_INFO), in a form IPC carries. */
export interface ModuleStatus {
  /** 2 bootloader, 4 system part, 5 user part, 7 NCP, 8 radio stack. */
  readonly func: number;
  readonly index: number;
  readonly version: number;
  readonly size: number;
  /** Passes the device's own checks (no failed validation flags). */
  readonly valid: boolean;
  /** The SHA-256 the device reports for it (hex), where it has one. */
  readonly hash?: string;
}

export const moduleStatus = (m: SimModule): ModuleStatus => ({
  func: m.func,
  index: m.index,
  version: m.version,
  size: m.size,
  valid: (m.failedFlags ?? 0) === 0,
  ...(m.hash ? { hash: Buffer.from(m.hash).toString('hex') } : {}),
});

export interface DeviceStatus {
  readonly deviceId: string;
  readonly platform: string;
  readonly udc: string;
  readonly mode: 'normal' | 'listening' | 'dfu';
  readonly connected: boolean;
  readonly bound: boolean;
  readonly productId: number;
  /** Device side of the CDC function while the device has one (/dev/ttyGS*). */
  readonly serialTty: string | undefined;
  readonly requests: number;
  /** What the device runs (its MODULE_INFO list), as the model holds it now. */
  readonly modules: readonly ModuleStatus[];
  readonly stats: {
    readonly controlTransfers: number;
    readonly bytesProgrammed: number;
    readonly sectorsErased: number;
    readonly reenumerations: number;
    readonly inherentMs: number;
  };
}

export type Reply =
  | {
      readonly id: number;
      readonly ok: true;
      readonly status?: readonly DeviceStatus[];
      readonly data?: string;
    }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** Unsolicited messages: readiness, each (re)enumeration, errors. */
export type Notice =
  | { readonly notice: 'ready'; readonly devices: readonly DeviceStatus[] }
  | {
      readonly notice: 'attached';
      readonly deviceId: string;
      readonly mode: string;
      readonly productId: number;
    }
  | { readonly notice: 'detached'; readonly deviceId: string; readonly reason: string }
  | { readonly notice: 'error'; readonly deviceId: string; readonly code: string; readonly message: string };
