/**
 * The device-side flash model behind one DFU alt setting, built from the same DfuSe layout string
 * the device reports (`@Internal Flash /0x08000000/03*016Ka,01*016Kg,...`). The rules are the
 * physical ones: erase sets a whole sector to 0xFF; programming can only clear bits (the stored
 * result is old AND new); sectors are readable / erasable / writable as their attribute letter says.
 *
 * This parser is the device's own copy on purpose: the simulator must not share code with the host
 * DFU engine it is testing.
 */

export interface SimSegment {
  readonly start: number;
  readonly sectorSize: number;
  readonly sectorCount: number;
  /** Exclusive. */
  readonly end: number;
  readonly readable: boolean;
  readonly erasable: boolean;
  readonly writable: boolean;
}

export interface SimLayout {
  readonly name: string;
  readonly segments: readonly SimSegment[];
}

const MULTIPLIER: Readonly<Record<string, number>> = { ' ': 1, B: 1, K: 1024, M: 1024 * 1024 };

/** Parses a DfuSe memory layout string (ST UM0424 / AN3156 §…: "@name/addr/count*size[BKM]attr,..."). */
export const parseLayout = (text: string): SimLayout => {
  if (!text.startsWith('@')) throw new Error(`Not a DfuSe layout string: ${text}`);
  const firstSlash = text.indexOf('/');
  if (firstSlash < 0) throw new Error(`Not a DfuSe layout string: ${text}`);
  const name = text.slice(1, firstSlash).trim();
  const segments: SimSegment[] = [];
  // After the name: one or more "/0xADDR/list" groups.
  const groups = text.slice(firstSlash + 1).split('/');
  for (let i = 0; i + 1 < groups.length; i += 2) {
    let address = Number.parseInt((groups[i] ?? '').trim(), 16);
    if (Number.isNaN(address)) throw new Error(`Bad address in layout: ${text}`);
    for (const part of (groups[i + 1] ?? '').split(',')) {
      const m = /^\s*(\d+)\s*\*\s*(\d+)\s?([ BKM])\s*([a-g])\s*$/.exec(part);
      if (!m) throw new Error(`Bad sector group "${part}" in layout: ${text}`);
      const count = Number(m[1]);
      const size = Number(m[2]) * (MULTIPLIER[m[3] ?? ' '] ?? 1);
      const attr = (m[4] ?? 'a').charCodeAt(0) - 'a'.charCodeAt(0) + 1;
      segments.push({
        start: address,
        sectorSize: size,
        sectorCount: count,
        end: address + count * size,
        readable: (attr & 1) !== 0,
        erasable: (attr & 2) !== 0,
        writable: (attr & 4) !== 0,
      });
      address += count * size;
    }
  }
  return { name, segments };
};

/** Outcome of a flash operation, in DFU status terms (DFU 1.1 §6.1.2). */
export type FlashStatus =
  | 'OK'
  | 'errADDRESS'
  | 'errWRITE'
  | 'errERASE'
  | 'errVERIFY'
  | 'errCHECK_ERASED'
  | 'errVENDOR';

/** What a device checks after programming a block (see `SimFlash.program`). */
export type ProgramCheck = 'none' | 'check-erased' | 'verify';

/**
 * Sparse flash: sectors are materialised on first write, so a 1.5 MB P2 map or an 8 MB external
 * flash costs nothing until touched. Unwritten sectors read as erased (0xFF), which is what a
 * factory-fresh part reads.
 */
export class SimFlash {
  readonly layout: SimLayout;
  private readonly sectors = new Map<number, Uint8Array>();

  constructor(layout: SimLayout | string) {
    this.layout = typeof layout === 'string' ? parseLayout(layout) : layout;
  }

  segmentAt(address: number): SimSegment | undefined {
    return this.layout.segments.find((s) => address >= s.start && address < s.end);
  }

  /** Start address of the sector holding `address`, or undefined outside the layout. */
  sectorStart(address: number): number | undefined {
    const s = this.segmentAt(address);
    if (!s) return undefined;
    return s.start + Math.floor((address - s.start) / s.sectorSize) * s.sectorSize;
  }

  /** Every segment touched by [address, address+length) must exist and satisfy `ok`. */
  private check(
    address: number,
    length: number,
    ok: (s: SimSegment) => boolean,
  ): 'OK' | 'errADDRESS' | 'denied' {
    if (length <= 0) return 'OK';
    let a = address;
    const end = address + length;
    while (a < end) {
      const s = this.segmentAt(a);
      if (!s) return 'errADDRESS';
      if (!ok(s)) return 'denied';
      a = s.end;
    }
    return 'OK';
  }

  /** Erases the sector holding `address` (DfuSe 0x41 addr semantics: any address inside it). */
  eraseSector(address: number): { status: FlashStatus; sectorSize: number } {
    const s = this.segmentAt(address);
    if (!s) return { status: 'errADDRESS', sectorSize: 0 };
    if (!s.erasable) return { status: 'errERASE', sectorSize: s.sectorSize };
    const start = this.sectorStart(address) as number;
    this.sectors.delete(start);
    return { status: 'OK', sectorSize: s.sectorSize };
  }

  /** Erases every erasable sector (DfuSe mass erase); returns the sizes erased, for timing. */
  eraseAll(): number[] {
    const sizes: number[] = [];
    for (const s of this.layout.segments) {
      if (!s.erasable) continue;
      for (let i = 0; i < s.sectorCount; i++) {
        this.sectors.delete(s.start + i * s.sectorSize);
        sizes.push(s.sectorSize);
      }
    }
    return sizes;
  }

  private sectorFor(address: number, create: boolean): { buf: Uint8Array | undefined; offset: number } {
    const s = this.segmentAt(address) as SimSegment;
    const start = s.start + Math.floor((address - s.start) / s.sectorSize) * s.sectorSize;
    let buf = this.sectors.get(start);
    if (!buf && create) {
      buf = new Uint8Array(s.sectorSize).fill(0xff);
      this.sectors.set(start, buf);
    }
    return { buf, offset: address - start };
  }

  /**
   * Programs `data` at `address`. Bits can only go from 1 to 0, so the stored byte is old AND new.
   * `check` is what the device's firmware does about writing over data that was not erased:
   * `none` stores the AND silently (STM32F2 hardware: only a readback verify finds it),
   * `check-erased` refuses before writing (errCHECK_ERASED), `verify` writes then reads back and
   * reports errVERIFY on a mismatch.
   */
  program(address: number, data: Uint8Array, check: ProgramCheck): FlashStatus {
    const c = this.check(address, data.length, (s) => s.writable);
    if (c === 'errADDRESS') return 'errADDRESS';
    if (c === 'denied') return 'errWRITE';
    if (check === 'check-erased') {
      const current = this.read(address, data.length);
      for (let i = 0; i < data.length; i++) {
        if (((current[i] as number) & (data[i] as number)) !== data[i]) return 'errCHECK_ERASED';
      }
    }
    let mismatch = false;
    for (let i = 0; i < data.length; ) {
      const { buf, offset } = this.sectorFor(address + i, true);
      const target = buf as Uint8Array;
      const n = Math.min(target.length - offset, data.length - i);
      for (let j = 0; j < n; j++) {
        const v = (target[offset + j] as number) & (data[i + j] as number);
        target[offset + j] = v;
        if (v !== data[i + j]) mismatch = true;
      }
      i += n;
    }
    return mismatch && check === 'verify' ? 'errVERIFY' : 'OK';
  }

  /** Reads bytes regardless of attributes (the device's own view; DFU UPLOAD checks `readable`). */
  read(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length).fill(0xff);
    for (let i = 0; i < length; ) {
      const s = this.segmentAt(address + i);
      if (!s) {
        i++;
        continue;
      }
      const { buf, offset } = this.sectorFor(address + i, false);
      const n = Math.min(s.sectorSize - offset, length - i);
      if (buf) out.set(buf.subarray(offset, offset + n), i);
      i += n;
    }
    return out;
  }

  canRead(address: number, length: number): 'OK' | 'errADDRESS' | 'errVENDOR' {
    const c = this.check(address, length, (s) => s.readable);
    return c === 'denied' ? 'errVENDOR' : c;
  }

  /** Flips one bit in place (fault injection: a cell that did not hold its charge). */
  flipBit(address: number, bit: number): void {
    if (!this.segmentAt(address)) return;
    const { buf, offset } = this.sectorFor(address, true);
    if (buf) buf[offset] = (buf[offset] as number) ^ (1 << (bit & 7));
  }

  /** Writes raw bytes without flash rules: for preloading a device's factory contents. */
  preload(address: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; ) {
      const s = this.segmentAt(address + i);
      if (!s) throw new Error(`preload outside the layout at 0x${(address + i).toString(16)}`);
      const { buf, offset } = this.sectorFor(address + i, true);
      const target = buf as Uint8Array;
      const n = Math.min(target.length - offset, data.length - i);
      target.set(data.subarray(i, i + n), offset);
      i += n;
    }
  }
}
