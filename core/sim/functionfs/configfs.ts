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

  private constructor(
    readonly name: string,
    readonly udc: string,
  ) {
    this.dir = join(CONFIGFS_GADGETS, name);
    this.config = join(this.dir, 'configs', 'c.1');
    this.ffsMount = join('/dev', `ffs-${name}`);
  }

  /** Creates (or adopts) the gadget, its two function instances and the FunctionFS mount. */
  static async create(name: string, udc: string): Promise<ConfigfsGadget> {
    const g = new ConfigfsGadget(name, udc);
    try {
      await mkdir(join(g.dir, 'strings', '0x409'), { recursive: true });
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
    for (const d of [
      join(this.config, 'strings', '0x409'),
      this.config,
      join(this.dir, 'functions', `ffs.${this.name}`),
      join(this.dir, 'functions', `acm.${this.name}`),
      join(this.dir, 'strings', '0x409'),
      this.dir,
    ])
      await rmdir(d).catch(() => undefined);
  }
}
