import { describe, expect, it } from 'vitest';
import { platformByName } from '../../../core/platforms';
import { dfuDescriptors, normalDescriptors } from '../../../core/sim/descriptors';
import { FfsFlag } from '../../../core/sim/functionfs/blobs';
import { gadgetSpec, splitDescriptors } from '../../../core/sim/functionfs/gadget-spec';

// Tests for core/sim/functionfs/gadget-spec.ts.

const ID = '0123456789abcdef01234567';
const photon = platformByName('photon');
if (!photon) throw new Error('photon missing from the platform table');

describe('gadgetSpec', () => {
  it('DFU mode: configfs gets the DFU identity, FunctionFS every alt setting and the functional descriptor', () => {
    const spec = gadgetSpec(dfuDescriptors(photon, ID));
    expect(spec.identity).toMatchObject({
      vendorId: 0x2b04,
      productId: 0xd006,
      serialNumber: ID,
      product: 'Photon DFU Mode',
      manufacturer: 'Particle',
      bcdUSB: 0x0200,
    });
    expect(spec.serial).toBe(false);
    const descs = splitDescriptors(
      Uint8Array.from([
        9,
        2,
        9 + spec.ffs.descriptors.length,
        0,
        1,
        1,
        0,
        0x80,
        250,
        ...spec.ffs.descriptors,
      ]),
    );
    expect(spec.ffs.count).toBe(descs.length);
    const interfaces = descs.filter((d) => d[1] === 4);
    expect(interfaces.map((d) => [d[2], d[3], d[5], d[6], d[7]])).toEqual([
      [0, 0, 0xfe, 1, 2],
      [0, 1, 0xfe, 1, 2],
    ]);
    // String indexes now point into the FunctionFS strings blob (1-based), in order.
    expect(interfaces.map((d) => d[8])).toEqual([1, 2]);
    expect(spec.ffsStrings).toEqual(photon.dfu.altSettings.map((a) => a.layout));
    const functional = descs.find((d) => d[1] === 0x21);
    expect(functional && [...functional]).toEqual([9, 0x21, functional?.[2], 255, 0, 0x00, 0x10, 0x1a, 0x01]);
    expect(spec.ffs.flags ?? 0).toBe(FfsFlag.ALL_CTRL_RECIP);
  });

  it('normal mode: the CDC pair goes to the kernel acm function, the vendor interface to FunctionFS as interface 0', () => {
    const spec = gadgetSpec(normalDescriptors(photon, ID));
    expect(spec.identity.productId).toBe(0xc006);
    expect(spec.identity.deviceClass).toBe(0xef);
    expect(spec.serial).toBe(true);
    expect(spec.ffs.count).toBe(1);
    expect([...spec.ffs.descriptors]).toEqual([9, 4, 0, 0, 0, 0xff, 0xff, 0xff, 1]);
    expect(spec.ffsStrings).toEqual(['Particle Control']);
  });

  it('strings a host asks for only by number (0xFA on Device OS 6.1.2+ in DFU mode) are fixed strings; named ones are not', () => {
    const boron = platformByName('boron');
    if (!boron) throw new Error('boron missing from the platform table');
    expect(
      gadgetSpec(dfuDescriptors(boron, ID, { protectedLayout: false, deviceState: 'o' })).fixedStrings,
    ).toEqual(new Map([[0xfa, 'sm=o']]));
    expect(gadgetSpec(dfuDescriptors(boron, ID)).fixedStrings.size).toBe(0);
    expect(gadgetSpec(dfuDescriptors(photon, ID)).fixedStrings.size).toBe(0);
    expect(gadgetSpec(normalDescriptors(boron, ID)).fixedStrings.size).toBe(0);
  });
});
