import { describe, expect, it } from 'vitest';
import { whereEqual } from '../../core/store/where';

describe('whereEqual', () => {
  it('keeps the set filters in order with their values, and is empty when none is set', () => {
    expect(whereEqual({ a: 1, b: undefined, c: 'x' })).toEqual({
      sql: 'WHERE a = ? AND c = ?',
      args: [1, 'x'],
    });
    expect(whereEqual({ a: undefined })).toEqual({ sql: '', args: [] });
  });
});
