import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  atLeastOne,
  collect,
  nonNegativeNumber,
  positiveNumber,
  wholeNumberUpTo,
} from '../../core/cli/options';

describe('CLI option parsers', () => {
  it('nonNegativeNumber takes 0 and fractions, refuses negatives and words', () => {
    expect(nonNegativeNumber('0')).toBe(0);
    expect(nonNegativeNumber('0.05')).toBe(0.05);
    expect(() => nonNegativeNumber('-1')).toThrow(InvalidArgumentError);
    expect(() => nonNegativeNumber('fast')).toThrow('must be a number ≥ 0.');
  });

  it('positiveNumber refuses 0 (a timing scale must keep time moving)', () => {
    expect(positiveNumber('2')).toBe(2);
    expect(() => positiveNumber('0')).toThrow('must be a number above 0.');
    expect(() => positiveNumber('Infinity')).toThrow(InvalidArgumentError);
  });

  it('wholeNumberUpTo takes digits only, within 1..max', () => {
    const upTo64 = wholeNumberUpTo(64);
    expect(upTo64('64')).toBe(64);
    expect(() => upTo64('65')).toThrow('must be a whole number from 1 to 64.');
    expect(() => upTo64('0')).toThrow(InvalidArgumentError);
    expect(() => upTo64('1e1')).toThrow(InvalidArgumentError);
  });

  it('atLeastOne takes any whole number from 1 up', () => {
    expect(atLeastOne('1000')).toBe(1000);
    expect(() => atLeastOne('1.5')).toThrow('must be a whole number of at least 1.');
    expect(() => atLeastOne('0')).toThrow(InvalidArgumentError);
  });

  it('collect keeps repeated values in order', () => {
    expect(collect('b', collect('a', []))).toEqual(['a', 'b']);
  });
});
