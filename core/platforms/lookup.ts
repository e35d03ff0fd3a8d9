import { PLATFORMS } from './table';
import { PARTICLE_VENDOR_ID, type Platform } from './types';

const byId = new Map(PLATFORMS.map((p) => [p.id, p]));
const byName = new Map(PLATFORMS.map((p) => [p.name, p]));

export const platformById = (id: number): Platform | undefined => byId.get(id);

/** Accepts Particle's short name in any case, or a numeric platform ID as text. */
export const platformByName = (name: string): Platform | undefined => {
  const key = name.trim().toLowerCase();
  if (/^\d+$/.test(key)) return byId.get(Number(key));
  return byName.get(key);
};

export type UsbMode = 'normal' | 'dfu';

/** Recognises a Particle device from its USB IDs; anything else is not ours and must never be opened. */
export const platformByUsbId = (
  vendorId: number,
  productId: number,
): { platform: Platform; mode: UsbMode } | undefined => {
  for (const p of PLATFORMS) {
    if (p.usb.vendorId === vendorId && p.usb.normalProductId === productId)
      return { platform: p, mode: 'normal' };
    if (p.usb.dfuVendorId === vendorId && p.usb.dfuProductId === productId)
      return { platform: p, mode: 'dfu' };
  }
  return undefined;
};

export const isParticleVendor = (vendorId: number): boolean => vendorId === PARTICLE_VENDOR_ID;

/** Platforms a new product may target (the ones Particle still sells). */
export const productPlatforms = (): readonly Platform[] => PLATFORMS.filter((p) => !p.deprecated);
