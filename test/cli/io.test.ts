import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { lineWriter } from '../../core/cli/io';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`write ${code}`), { code });

/** A stream that records what was written and can be made to report a write error. */
const sink = () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { stream, lines };
};

describe('lineWriter', () => {
  it('writes one line per call', () => {
    const { stream, lines } = sink();
    const out = lineWriter(stream);
    out('a');
    out('b');
    expect(lines).toEqual(['a\n', 'b\n']);
  });

  it('drops output quietly once the reader went away (EPIPE), instead of crashing', () => {
    const { stream, lines } = sink();
    const out = lineWriter(stream);
    out('before');
    // Without the guard an 'error' event with no listener throws (the stack trace operators saw).
    expect(() => stream.emit('error', errno('EPIPE'))).not.toThrow();
    out('after');
    expect(lines).toEqual(['before\n']);
  });

  it('still surfaces any other stream error', () => {
    const { stream } = sink();
    lineWriter(stream);
    expect(() => stream.emit('error', errno('EIO'))).toThrow('write EIO');
  });

  it('guards a stream once, however many writers share it', () => {
    const { stream } = sink();
    lineWriter(stream);
    lineWriter(stream);
    expect(stream.listenerCount('error')).toBe(1);
  });
});
