/**
 * The few protobuf encodings the simulated Device OS sends, hand-written (proto3 wire format:
 * varint = 0, fixed32 = 5, length-delimited = 2). Like nanopb on the device, fields holding their
 * default value (0, empty) are omitted. Field numbers come from @particle/device-os-protobuf:
 * control/config.proto (GetDeviceIdReply, GetDeviceModeReply), control/storage.proto
 * (GetModuleInfoReply) and cloud/describe.proto (FirmwareModule, FirmwareModuleDependency).
 */

import { createHash } from 'node:crypto';
import type { SimModule } from './types';

const varint = (value: number): number[] => {
  const out: number[] = [];
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
};

const key = (field: number, wire: number): number[] => varint((field << 3) | wire);

export class ProtoWriter {
  private readonly bytes: number[] = [];

  uint(field: number, value: number): this {
    if (value !== 0) this.bytes.push(...key(field, 0), ...varint(value));
    return this;
  }

  fixed32(field: number, value: number): this {
    if (value !== 0) {
      const v = value >>> 0;
      this.bytes.push(...key(field, 5), v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    }
    return this;
  }

  bytesField(field: number, data: Uint8Array): this {
    if (data.length > 0) this.bytes.push(...key(field, 2), ...varint(data.length), ...data);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytesField(field, new TextEncoder().encode(text));
  }

  /** Embedded messages are written even when empty: a repeated element must still appear. */
  message(field: number, inner: ProtoWriter): this {
    const data = inner.finish();
    this.bytes.push(...key(field, 2), ...varint(data.length), ...data);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export const encodeDeviceIdReply = (deviceId: string): Uint8Array =>
  new ProtoWriter().string(1, deviceId).finish();

/** DeviceMode: NORMAL_MODE 0, LISTENING_MODE 1. NORMAL encodes to an empty message. */
export const encodeDeviceModeReply = (listening: boolean): Uint8Array =>
  new ProtoWriter().uint(1, listening ? 1 : 0).finish();

/** The legacy (pre-5.6.0) enum in control/storage.proto numbers module types differently. */
const LEGACY_MODULE_TYPE: Readonly<Record<number, number>> = { 2: 1, 4: 2, 5: 3, 3: 4, 7: 5, 8: 6 };

/** All validation checks a module goes through (integrity, dependencies, range, platform). */
const ALL_CHECKS = 0x02 | 0x04 | 0x08 | 0x10;

/**
 * GetModuleInfoReply. Device OS 5.6.0 and later fill `modules` (field 2, cloud FirmwareModule);
 * older releases fill `modules_deprecated` (field 1) with the legacy type enum and validity flags
 * (1 = integrity check failed, 2 = dependency check failed).
 */
export const encodeModuleInfoReply = (modules: readonly SimModule[], newFormat: boolean): Uint8Array => {
  const w = new ProtoWriter();
  for (const m of modules) {
    const failed = m.failedFlags ?? 0;
    if (newFormat) {
      const mod = new ProtoWriter()
        .uint(1, m.func)
        .uint(2, m.index)
        .uint(3, m.version)
        .uint(4, 0) // MAIN_MODULE_STORE
        .uint(5, m.maxSize ?? m.size)
        .fixed32(6, ALL_CHECKS)
        .fixed32(7, ALL_CHECKS & ~failed)
        // particle-usb 4.1.0 reads `hash.toString('hex')` unconditionally: Device OS always sends it.
        .bytesField(8, m.hash ?? createHash('sha256').update(`${m.func}:${m.index}:${m.version}`).digest());
      for (const d of m.dependencies ?? []) {
        mod.message(9, new ProtoWriter().uint(1, d.func).uint(2, d.index).uint(3, d.version));
      }
      mod.uint(11, m.size);
      w.message(2, mod);
    } else {
      const legacyValidity = (failed & 0x02 ? 1 : 0) | (failed & 0x04 ? 2 : 0);
      const mod = new ProtoWriter()
        .uint(1, LEGACY_MODULE_TYPE[m.func] ?? 0)
        .uint(2, m.index)
        .uint(3, m.version)
        .uint(4, m.size)
        .uint(5, legacyValidity);
      for (const d of m.dependencies ?? []) {
        mod.message(
          6,
          new ProtoWriter()
            .uint(1, LEGACY_MODULE_TYPE[d.func] ?? 0)
            .uint(2, d.index)
            .uint(3, d.version),
        );
      }
      w.message(1, mod);
    }
  }
  return w.finish();
};
