import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rmdir, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LsFailure } from '../../errors/result';

/*
 * A configfs USB gadget (Documentation/usb/gadget_configfs.rst) with two functions: a FunctionFS
 * instance served by our process, and a kernel CDC-ACM instance for the device's serial port. The
 * device descriptor and its strings live here, not in FunctionFS, so a mode switch (normal <-> DFU)
 * rewrites them between an unbind and a bind on the SAME UDC: the host sees the device leave and
 * come back on the same port, with a new product ID, as a real Particle device does.
 */

const run = promisify(execFile);
export const CONFIGFS_GADGETS = '/sys/kernel/config/usb_gadget';

export interface GadgetIdentity {
  readonly vendorId: number;
  readonly productId: number;
  readonly bcdDevice: number;
  readonly bcdUSB: number;
  readonly deviceClass: number;
  readonly deviceSubClass: number;
  readonly deviceProtocol: number;
  readonly manufacturer: string;
  readonly product: string;
  readonly serialNumber: string;
}

/** configfs numbers custom gadget strings from 4 on (1-3: manufacturer, product, serial). */
export const FIRST_CUSTOM_STRING = 4;
/** The highest string number the composite layer hands out (usb_string_ids_n). */
export const LAST_STRING = 254;

const CUSTOM_STRING = /^id\d+$/;
const customStringName = (id: number): string => `id${id}`;

/**
 * Where the custom gadget strings must go for each of `fixed` to sit at its number: configfs
 * numbers custom strings 4, 5, … in the order they were made, so every number from 4 to the highest
 * fixed one is a custom string, the others empty padding. `reserve` is how many numbers the
 * configuration and the functions take after them (the kernel refuses the bind when it runs out).
 * Fixed strings at 1-3 are the identity's and are left out. Undefined when they do not fit.
 */
export const customStringLayout = (
  fixed: ReadonlyMap<number, string>,
  reserve: number,
): { readonly top: number; readonly texts: ReadonlyMap<number, string> } | undefined => {
  const texts = new Map([...fixed].filter(([id]) => id >= FIRST_CUSTOM_STRING).sort(([a], [b]) => a - b));
  const top = Math.max(FIRST_CUSTOM_STRING - 1, ...texts.keys());
  return top + reserve > LAST_STRING ? undefined : { top, texts };
};

const hex = (n: number, width = 4): string => `0x${n.toString(16).padStart(width, '0')}`;

const gadgetError = (message: string, e: unknown, remedy?: string): LsFailure =>
  new LsFailure({
    code: 'GADGET_CONFIG_FAILED',
    message,
    ...(remedy ? { remedy } : {}),
    details: { cause: e instanceof Error ? e.message : String(e) },
  });

/** UDCs the kernel offers (dummy_hcd num=N gives dummy_udc.0 .. N-1), sorted by number. */
export const listUdcs = async (): Promise<string[]> => {
  const names = await readdir('/sys/class/udc').catch(() => [] as string[]);
  return names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
};

export class ConfigfsGadget {
  readonly dir: string;
  /** Where this gadget's FunctionFS instance is mounted; ep0 lives there. */
  readonly ffsMount: string;
  private readonly config: string;
  private readonly strings: string;
  /** The custom strings made: ids 4 … customTop (3: none), and the texts written to fixed ones. */
  private customTop = FIRST_CUSTOM_STRING - 1;
  private readonly customTexts = new Map<number, string>();

  private constructor(
    readonly name: string,
    readonly udc: string,
  ) {
    this.dir = join(CONFIGFS_GADGETS, name);
    this.config = join(this.dir, 'configs', 'c.1');
    this.strings = join(this.dir, 'strings', '0x409');
    this.ffsMount = join('/dev', `ffs-${name}`);
  }

  /** Creates (or adopts) the gadget, its two function instances and the FunctionFS mount. */
  static async create(name: string, udc: string): Promise<ConfigfsGadget> {
    const g = new ConfigfsGadget(name, udc);
    try {
      await mkdir(g.strings, { recursive: true });
      // An adopted gadget may hold custom strings of an earlier run, made in an unknown order.
      await g.removeCustomStrings();
      await mkdir(join(g.config, 'strings', '0x409'), { recursive: true });
      await mkdir(join(g.dir, 'functions', `ffs.${name}`), { recursive: true });
      await mkdir(join(g.dir, 'functions', `acm.${name}`), { recursive: true });
      // Self-powered is not what a Particle device says: bus powered, up to 500 mA.
      await writeFile(join(g.config, 'bmAttributes'), '0x80');
      await writeFile(join(g.config, 'MaxPower'), '500');
      await mkdir(g.ffsMount, { recursive: true });
      const mounts = await readFile('/proc/mounts', 'utf8');
      if (!mounts.split('\n').some((l) => l.split(' ')[1] === g.ffsMount))
        await run('mount', ['-t', 'functionfs', name, g.ffsMount]);
    } catch (e) {
      throw gadgetError(
        `Could not create the configfs gadget ${name}.`,
        e,
        'Load libcomposite, usb_f_fs and usb_f_acm, mount configfs on /sys/kernel/config, and run as root.',
      );
    }
    return g;
  }

  async setIdentity(id: GadgetIdentity): Promise<void> {
    const w = (file: string, value: string) => writeFile(join(this.dir, file), value);
    await w('idVendor', hex(id.vendorId));
    await w('idProduct', hex(id.productId));
    await w('bcdDevice', hex(id.bcdDevice));
    await w('bcdUSB', hex(id.bcdUSB));
    await w('bDeviceClass', hex(id.deviceClass, 2));
    await w('bDeviceSubClass', hex(id.deviceSubClass, 2));
    await w('bDeviceProtocol', hex(id.deviceProtocol, 2));
    await w('strings/0x409/manufacturer', id.manufacturer);
    await w('strings/0x409/product', id.product);
    await w('strings/0x409/serialnumber', id.serialNumber);
  }

  /**
   * Puts each string of `fixed` at its number (Device OS's 0xFA in DFU mode) as custom gadget
   * strings, padding below it; `reserve` is how many string numbers the configuration and functions
   * take at bind. Takes effect at the next bind; a text change of a string in place also applies
   * while bound (the kernel's table points at the same buffer). Returns false, leaving no custom
   * strings, when they do not fit below 255 with the reserve: the host then gets a STALL for them.
   */
  async setFixedStrings(fixed: ReadonlyMap<number, string>, reserve: number): Promise<boolean> {
    const layout = customStringLayout(fixed, reserve);
    const top = layout?.top ?? FIRST_CUSTOM_STRING - 1;
    if (top !== this.customTop) {
      await this.removeCustomStrings();
      // Padding strings are all alike, so each run up to a fixed one is made at once (the kernel
      // orders them as they come); the fixed one after them lands at its number.
      let next = FIRST_CUSTOM_STRING;
      for (const id of layout?.texts.keys() ?? []) {
        const pads = Array.from({ length: id - next }, (_, i) => next + i);
        await Promise.all(pads.map((p) => mkdir(join(this.strings, customStringName(p)))));
        await mkdir(join(this.strings, customStringName(id)));
        next = id + 1;
      }
      this.customTop = top;
    }
    for (const [id, text] of layout?.texts ?? []) {
      if (this.customTexts.get(id) === text) continue;
      await writeFile(join(this.strings, customStringName(id), 's'), text);
      this.customTexts.set(id, text);
    }
    return layout !== undefined;
  }

  private async removeCustomStrings(): Promise<void> {
    const names = (await readdir(this.strings).catch(() => [] as string[])).filter((n) =>
      CUSTOM_STRING.test(n),
    );
    await Promise.all(names.map((n) => rmdir(join(this.strings, n)).catch(() => undefined)));
    this.customTop = FIRST_CUSTOM_STRING - 1;
    this.customTexts.clear();
  }

  /**
   * Links the functions into the configuration. Interfaces are numbered in link order, so the CDC
   * pair comes first (interfaces 0 and 1) as on a Particle device in normal mode.
   */
  async setFunctions(withSerial: boolean): Promise<void> {
    const ffs = join(this.config, `ffs.${this.name}`);
    const acm = join(this.config, `acm.${this.name}`);
    await unlink(ffs).catch(() => undefined);
    await unlink(acm).catch(() => undefined);
    if (withSerial) await symlink(join(this.dir, 'functions', `acm.${this.name}`), acm);
    await symlink(join(this.dir, 'functions', `ffs.${this.name}`), ffs);
  }

  /** The device-side tty of the CDC function: /dev/ttyGS<port_num>. */
  async serialTty(): Promise<string> {
    const port = (await readFile(join(this.dir, 'functions', `acm.${this.name}`, 'port_num'), 'utf8')).trim();
    return `/dev/ttyGS${port}`;
  }

  async bind(): Promise<void> {
    try {
      await writeFile(join(this.dir, 'UDC'), this.udc);
    } catch (e) {
      throw gadgetError(`Could not bind gadget ${this.name} to ${this.udc}.`, e);
    }
  }

  /** Detaches the device from the host (as pulling the cable does). Unbinding twice is harmless. */
  async unbind(): Promise<void> {
    if (!(await this.isBound())) return;
    await writeFile(join(this.dir, 'UDC'), '\n').catch((e: unknown) => {
      throw gadgetError(`Could not unbind gadget ${this.name} from ${this.udc}.`, e);
    });
  }

  async isBound(): Promise<boolean> {
    const udc = await readFile(join(this.dir, 'UDC'), 'utf8').catch(() => '');
    return udc.trim().length > 0;
  }

  /** Tears the gadget down in the order configfs requires (links, strings, configs, functions). */
  async destroy(): Promise<void> {
    await this.unbind().catch(() => undefined);
    await run('umount', [this.ffsMount]).catch(() => undefined);
    for (const f of [`ffs.${this.name}`, `acm.${this.name}`])
      await unlink(join(this.config, f)).catch(() => undefined);
    await this.removeCustomStrings();
    for (const d of [
      join(this.config, 'strings', '0x409'),
      this.config,
      join(this.dir, 'functions', `ffs.${this.name}`),
      join(this.dir, 'functions', `acm.${this.name}`),
      this.strings,
      this.dir,
    ])
      await rmdir(d).catch(() => undefined);
  }
}
