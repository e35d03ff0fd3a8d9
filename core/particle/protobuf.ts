/*
 * A minimal protobuf wire-format reader and writer: enough for the handful of Device OS messages
 * the station reads (GetDeviceIdReply, GetDeviceModeReply, GetModuleInfoReply). Pulling in
 * protobufjs and the .proto tree for three messages would cost more than these 100 lines.
 * Field numbers come from @particle/device-os-protobuf (control/config.proto, control/storage.proto,
 * cloud/describe.proto).
 */

export type WireValue =
  | { readonly wire: 0; readonly value: number }
  | { readonly wire: 1; readonly value: Uint8Array }
  | { readonly wire: 2; readonly value: Uint8Array }
  | { readonly wire: 5; readonly value: number };

export interface WireField {
  readonly field: number;
  readonly data: WireValue;
}

export class ProtobufError extends Error {
  override readonly name = 'ProtobufError';
}

const readVarint = (bytes: Uint8Array, start: number): [value: number, next: number] => {
  let value = 0;
  let scale = 1;
  for (let i = start; i < bytes.length && i < start + 10; i++) {
    const b = bytes[i] as number;
    // Multiplication instead of shifts keeps values above 2^31 exact (up to 2^53).
    value += (b & 0x7f) * scale;
    scale *= 128;
    if (!(b & 0x80)) return [value, i + 1];
  }
  throw new ProtobufError('truncated or overlong varint');
};

/** Splits a message into its fields, in order; repeated fields appear once per occurrence. */
export const readFields = (bytes: Uint8Array): WireField[] => {
  const fields: WireField[] = [];
  let i = 0;
  while (i < bytes.length) {
    const [key, afterKey] = readVarint(bytes, i);
    const field = Math.floor(key / 8);
    const wire = key % 8;
    i = afterKey;
    if (field === 0) throw new ProtobufError('field number 0');
    if (wire === 0) {
      const [value, next] = readVarint(bytes, i);
      fields.push({ field, data: { wire, value } });
      i = next;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (i + n > bytes.length) throw new ProtobufError('truncated fixed field');
      const slice = bytes.subarray(i, i + n);
      if (wire === 5)
        fields.push({
          field,
          data: { wire, value: new DataView(slice.buffer, slice.byteOffset, 4).getUint32(0, true) },
        });
      else fields.push({ field, data: { wire, value: slice } });
      i += n;
    } else if (wire === 2) {
      const [len, next] = readVarint(bytes, i);
      if (next + len > bytes.length) throw new ProtobufError('truncated length-delimited field');
      fields.push({ field, data: { wire, value: bytes.subarray(next, next + len) } });
      i = next + len;
    } else {
      throw new ProtobufError(`unsupported wire type ${wire}`);
    }
  }
  return fields;
};

/** Last-one-wins numeric value of a field (proto3 semantics), or the default 0. */
export const uintField = (fields: readonly WireField[], field: number): number => {
  let value = 0;
  for (const f of fields)
    if (f.field === field && (f.data.wire === 0 || f.data.wire === 5)) value = f.data.value;
  return value;
};

export const bytesField = (fields: readonly WireField[], field: number): Uint8Array | undefined => {
  let value: Uint8Array | undefined;
  for (const f of fields) if (f.field === field && f.data.wire === 2) value = f.data.value;
  return value;
};

export const stringField = (fields: readonly WireField[], field: number): string => {
  const b = bytesField(fields, field);
  return b ? new TextDecoder().decode(b) : '';
};

export const repeatedMessages = (fields: readonly WireField[], field: number): Uint8Array[] =>
  fields.flatMap((f) => (f.field === field && f.data.wire === 2 ? [f.data.value] : []));

// ---- writer (used by tests and by simulators that must answer the same messages) ----

const varint = (value: number): number[] => {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
};

export type FieldSpec =
  | { readonly field: number; readonly varint: number }
  | { readonly field: number; readonly fixed32: number }
  | { readonly field: number; readonly bytes: Uint8Array | string };

export const encodeFields = (specs: readonly FieldSpec[]): Uint8Array => {
  const out: number[] = [];
  for (const s of specs) {
    if ('varint' in s) out.push(...varint(s.field * 8), ...varint(s.varint));
    else if ('fixed32' in s) {
      out.push(...varint(s.field * 8 + 5));
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, s.fixed32 >>> 0, true);
      out.push(...b);
    } else {
      const b = typeof s.bytes === 'string' ? new TextEncoder().encode(s.bytes) : s.bytes;
      out.push(...varint(s.field * 8 + 2), ...varint(b.length), ...b);
    }
  }
  return Uint8Array.from(out);
};
