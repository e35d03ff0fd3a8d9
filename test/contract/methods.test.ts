import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { invokeChannel } from '../../core/contract/bridge';
import { ROLES } from '../../core/contract/define';
import { EVENT_NAMES, EVENTS, isEventName } from '../../core/contract/events';
import { isMethodName, METHOD_NAMES, METHODS } from '../../core/contract/methods';

describe('METHODS', () => {
  it('names every method area.verb and gives it a role, a summary and schemas', () => {
    expect(METHOD_NAMES.length).toBeGreaterThan(0);
    for (const name of METHOD_NAMES) {
      const spec = METHODS[name];
      expect(name).toMatch(/^[a-z]+\.[a-z][A-Za-z]*$/);
      expect(ROLES).toContain(spec.role);
      expect(spec.summary.length).toBeGreaterThan(10);
      expect(spec.request).toBeInstanceOf(z.ZodType);
      expect(spec.response).toBeInstanceOf(z.ZodType);
    }
  });

  it('keeps the methods that change what the line builds for engineers', () => {
    expect(METHODS['profile.load'].role).toBe('engineer');
    expect(METHODS['profile.lock'].role).toBe('engineer');
    expect(METHODS['profile.current'].role).toBe('operator');
    expect(METHODS['profile.check'].role).toBe('operator');
  });

  it('rejects unknown request fields instead of ignoring them', () => {
    expect(METHODS['profile.check'].request.safeParse({ path: 'a.json' }).success).toBe(true);
    expect(METHODS['profile.check'].request.safeParse({ path: 'a.json', sneaky: 1 }).success).toBe(false);
    expect(METHODS['profile.load'].request.safeParse({}).success).toBe(false);
    expect(METHODS['profile.lock'].request.parse({})).toEqual({ relock: false });
  });

  it('recognises only its own method names (not prototype keys)', () => {
    expect(isMethodName('profile.load')).toBe(true);
    expect(isMethodName('toString')).toBe(false);
    expect(isMethodName('__proto__')).toBe(false);
    expect(isMethodName(42)).toBe(false);
  });

  it('derives one distinct IPC channel per method', () => {
    const channels = new Set(METHOD_NAMES.map(invokeChannel));
    expect(channels.size).toBe(METHOD_NAMES.length);
  });
});

describe('EVENTS', () => {
  it('has a schema per event and a strict name check', () => {
    for (const name of EVENT_NAMES) expect(EVENTS[name]).toBeInstanceOf(z.ZodType);
    expect(isEventName('profile.changed')).toBe(true);
    expect(isEventName('constructor')).toBe(false);
  });
});
