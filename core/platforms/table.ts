import { PARTICLE_VENDOR_ID, type Platform } from './types';

/*
 * Our own platform table (Particle's @particle/device-constants is UNLICENSED, so we keep the
 * facts here). Layout strings are the ones real Particle bootloaders report on each alt setting.
 */

const GEN2_LAYOUT = '@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg';
const GEN2_DCT = '@DCT Flash   /0x00000000/01*016Kg';
const GEN3_LAYOUT = '@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka';
const GEN3_DCT = '@DCD Flash   /0x00000000/1*016Kg';
const GEN3_EXTERNAL = '@External Flash   /0x80000000/1024*004Kg';
const RTL_LAYOUT = '@Internal Flash   /0x08000000/2048*004Kg';
const RTL_DCT = '@DCD Flash   /0x00000000/1*016Kg';

const gen2 = (id: number, name: string, displayName: string, cellular: boolean): Platform => ({
  id,
  name,
  displayName,
  generation: 2,
  mcu: 'STM32F205',
  cellular,
  deprecated: false,
  usb: {
    vendorId: PARTICLE_VENDOR_ID,
    dfuVendorId: PARTICLE_VENDOR_ID,
    normalProductId: 0xc000 | id,
    dfuProductId: 0xd000 | id,
  },
  dfu: {
    altSettings: [
      { alt: 0, layout: GEN2_LAYOUT },
      { alt: 1, layout: GEN2_DCT },
    ],
    transferSize: 4096,
    zeroLengthOutNeedsByte: false,
    leaveStaysInDnloadIdle: true,
  },
  flash: {
    internalStart: 0x08000000,
    internalEnd: 0x08100000,
    // The Electron keeps its 128 KB user part at 0x08080000; Photon and P1 at 0x080A0000.
    userPart:
      id === 10
        ? { start: 0x08080000, end: 0x080a0000, maxSize: 128 * 1024, growsDown: false }
        : { start: 0x080a0000, end: 0x080c0000, maxSize: 128 * 1024, growsDown: false },
  },
});

const gen3 = (
  id: number,
  name: string,
  displayName: string,
  cellular: boolean,
  deprecated = false,
): Platform => ({
  id,
  name,
  displayName,
  generation: 3,
  mcu: 'nRF52840',
  cellular,
  deprecated,
  usb: {
    vendorId: PARTICLE_VENDOR_ID,
    dfuVendorId: PARTICLE_VENDOR_ID,
    normalProductId: 0xc000 | id,
    dfuProductId: 0xd000 | id,
  },
  dfu: {
    altSettings: [
      { alt: 0, layout: GEN3_LAYOUT },
      { alt: 1, layout: GEN3_DCT },
      { alt: 2, layout: GEN3_EXTERNAL },
    ],
    transferSize: 4096,
    zeroLengthOutNeedsByte: false,
    leaveStaysInDnloadIdle: false,
  },
  flash: {
    internalStart: 0x00000000,
    internalEnd: 0x00100000,
    userPart: { start: 0xb4000, end: 0xf4000, maxSize: 256 * 1024, growsDown: false, legacyStart: 0xd4000 },
  },
});

const rtl = (id: number, name: string, displayName: string, cellular: boolean): Platform => ({
  id,
  name,
  displayName,
  generation: 4,
  mcu: 'RTL872x',
  cellular,
  deprecated: false,
  usb: {
    vendorId: PARTICLE_VENDOR_ID,
    dfuVendorId: PARTICLE_VENDOR_ID,
    normalProductId: 0xc000 | id,
    dfuProductId: 0xd000 | id,
  },
  dfu: {
    altSettings: [
      { alt: 0, layout: RTL_LAYOUT },
      { alt: 1, layout: RTL_DCT },
    ],
    transferSize: 4096,
    zeroLengthOutNeedsByte: true,
    leaveStaysInDnloadIdle: false,
  },
  flash: {
    internalStart: 0x08000000,
    internalEnd: 0x08800000,
    // User parts grow downward from 0x08600000, up to 1.5 MB.
    userPart: { start: 0x08480000, end: 0x08600000, maxSize: 1536 * 1024, growsDown: true },
  },
});

export const PLATFORMS: readonly Platform[] = [
  {
    id: 0,
    name: 'core',
    displayName: 'Core',
    generation: 1,
    mcu: 'STM32F103',
    cellular: false,
    deprecated: true,
    usb: { vendorId: 0x1d50, dfuVendorId: 0x1d50, normalProductId: 0x607d, dfuProductId: 0x607f },
    dfu: {
      altSettings: [{ alt: 0, layout: '@Internal Flash  /0x08000000/20*001Ka,108*001Kg' }],
      transferSize: 1024,
      zeroLengthOutNeedsByte: false,
      leaveStaysInDnloadIdle: true,
    },
    flash: {
      internalStart: 0x08000000,
      internalEnd: 0x08020000,
      userPart: { start: 0x08005000, end: 0x08020000, maxSize: 108 * 1024, growsDown: false },
    },
  },
  gen2(6, 'photon', 'Photon', false),
  gen2(8, 'p1', 'P1', false),
  gen2(10, 'electron', 'Electron', true),
  gen3(12, 'argon', 'Argon', false),
  gen3(13, 'boron', 'Boron', true),
  gen3(14, 'xenon', 'Xenon', false, true),
  gen3(23, 'bsom', 'B SoM', true),
  gen3(25, 'b5som', 'B5 SoM', true),
  gen3(26, 'tracker', 'Tracker', true),
  rtl(28, 'trackerm', 'Tracker M', true),
  rtl(32, 'p2', 'P2', false),
  rtl(35, 'msom', 'M SoM', true),
  gen3(37, 'electron2', 'Electron 2', true),
];
