import { describe, expect, it } from 'vitest';
import { hostStatusFrames, parseHostStatus, readiness } from '../../core/labels/host-status';

const frame = (s: string) => `\x02${s}\x03\r\n`;
/** A ZT410's answer, ready: 203 dpi, 1218-dot labels, tear-off mode. */
const READY =
  frame('030,0,0,1218,000,0,0,0,000,0,0,0') + frame('001,0,0,0,1,2,6,0,00000000,1,000') + frame('1234,0');

const status = (one: string, two: string) => frame(one) + frame(two) + frame('1234,0');

describe('~HS host status', () => {
  it('parses the three strings of a ready printer', () => {
    const r = parseHostStatus(READY);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({
      paperOut: false,
      paused: false,
      headUp: false,
      ribbonOut: false,
      labelLengthDots: 1218,
      formatsInBuffer: 0,
      thermalTransfer: true,
      printMode: 2,
    });
    expect(readiness(r.value).ok).toBe(true);
  });

  it.each([
    [
      'paper out',
      status('030,1,0,1218,000,0,0,0,000,0,0,0', '001,0,0,0,1,2,6,0,00000000,1,000'),
      'LABEL_PRINTER_PAPER_OUT',
    ],
    [
      'paused',
      status('030,0,1,1218,000,0,0,0,000,0,0,0', '001,0,0,0,1,2,6,0,00000000,1,000'),
      'LABEL_PRINTER_PAUSED',
    ],
    [
      'head open',
      status('030,0,0,1218,000,0,0,0,000,0,0,0', '001,0,1,0,1,2,6,0,00000000,1,000'),
      'LABEL_PRINTER_HEAD_OPEN',
    ],
    [
      'ribbon out',
      status('030,0,0,1218,000,0,0,0,000,0,0,0', '001,0,0,1,1,2,6,0,00000000,1,000'),
      'LABEL_PRINTER_RIBBON_OUT',
    ],
    [
      'buffer full',
      status('030,0,0,1218,099,1,0,0,000,0,0,0', '001,0,0,0,1,2,6,0,00000000,1,000'),
      'LABEL_PRINTER_BUFFER_FULL',
    ],
    [
      'too hot',
      status('030,0,0,1218,000,0,0,0,000,0,0,1', '001,0,0,0,1,2,6,0,00000000,1,000'),
      'LABEL_PRINTER_TEMPERATURE',
    ],
    [
      'corrupt RAM',
      status('030,0,0,1218,000,0,0,0,000,1,0,0', '001,0,0,0,1,2,6,0,00000000,1,000'),
      'LABEL_PRINTER_FAULT',
    ],
  ])('%s is its own named error', (_name, answer, code) => {
    const r = parseHostStatus(answer);
    if (!r.ok) throw new Error(r.error.message);
    const ready = readiness(r.value);
    expect(!ready.ok && ready.error.code).toBe(code);
  });

  it('names the head first when it is open and the printer also reads paper out, and lists both', () => {
    const r = parseHostStatus(status('030,1,1,1218,000,0,0,0,000,0,0,0', '001,0,1,0,1,2,6,0,00000000,1,000'));
    if (!r.ok) throw new Error(r.error.message);
    const ready = readiness(r.value);
    expect(!ready.ok && ready.error.code).toBe('LABEL_PRINTER_HEAD_OPEN');
    expect(!ready.ok && ready.error.details?.conditions).toEqual([
      'LABEL_PRINTER_HEAD_OPEN',
      'LABEL_PRINTER_PAPER_OUT',
      'LABEL_PRINTER_PAUSED',
    ]);
    expect(!ready.ok && ready.error.message).toBe(
      'The label printer is not ready: its print head is open, it is out of labels, it is paused.',
    );
  });

  it('accepts older firmware that sends fewer fields', () => {
    const r = parseHostStatus(status('030,1,0,1218', '001,0,0,0'));
    expect(r.ok && r.value.paperOut).toBe(true);
  });

  it('refuses an answer that is not a host status (a web server, an echo)', () => {
    for (const answer of [
      'HTTP/1.1 400 Bad Request\r\n\r\n',
      '~HS',
      frame('hello') + frame('x') + frame('y'),
    ]) {
      const r = parseHostStatus(answer);
      expect(!r.ok && r.error.code).toBe('LABEL_PRINTER_BAD_STATUS');
    }
  });

  it('finds frames split over reads only once each is complete', () => {
    expect(hostStatusFrames(READY.slice(0, 20))).toHaveLength(0);
    expect(hostStatusFrames(READY)).toHaveLength(3);
  });
});
