export type { UsbMode } from './lookup';
export { isParticleVendor, platformById, platformByName, platformByUsbId, productPlatforms } from './lookup';
export { PLATFORMS } from './table';
export type { DfuAltSetting, Generation, Mcu, Platform, UserPartRegion } from './types';
export { PARTICLE_VENDOR_ID } from './types';
