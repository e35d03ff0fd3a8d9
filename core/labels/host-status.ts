import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';

/**
 * The answer to ZPL's ~HS (host status): three strings, each framed by STX (0x02) and ETX
 * (0x03) and followed by CR LF (ZPL II Programming Guide, ~HS):
 *
 *   1: aaa,b,c,dddd,eee,f,g,h,iii,j,k,l
 *      communication settings, paper out, pause, label length (dots), formats in the receive
 *      buffer, buffer full, diagnostic mode, partial format, unused, corrupt RAM,
 *      under temperature, over temperature
 *   2: mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www
 *      function settings, unused, head up, ribbon out, thermal transfer, print mode, print width
 *      mode, label waiting, labels remaining in batch, format while printing, stored graphics
 *   3: xxxx,y
 *      password, static RAM installed
 *
 * Printers differ in how many fields they send (older firmware stops early), so only the
 * fields we act on are required.
 */
export interface HostStatus {
  readonly paperOut: boolean;
  readonly paused: boolean;
  readonly labelLengthDots: number;
  readonly formatsInBuffer: number;
  readonly bufferFull: boolean;
  readonly diagnosticMode: boolean;
  readonly partialFormat: boolean;
  readonly corruptRam: boolean;
  readonly underTemperature: boolean;
  readonly overTemperature: boolean;
  readonly headUp: boolean;
  readonly ribbonOut: boolean;
  readonly thermalTransfer: boolean;
  readonly printMode: number;
  readonly labelWaiting: boolean;
  readonly labelsRemaining: number;
}

const STX = '\x02';
const ETX = '\x03';

/** The framed strings found so far in a byte stream, and whether all three are in. */
export const hostStatusFrames = (text: string): string[] => {
  const frames: string[] = [];
  let at = 0;
  for (;;) {
    const start = text.indexOf(STX, at);
    if (start < 0) break;
    const end = text.indexOf(ETX, start + 1);
    if (end < 0) break;
    frames.push(text.slice(start + 1, end));
    at = end + 1;
  }
  return frames;
};

const flag = (v: string | undefined): boolean => v?.trim() === '1';
const num = (v: string | undefined): number => {
  const n = Number.parseInt(v?.trim() ?? '', 10);
  return Number.isFinite(n) ? n : 0;
};

export const parseHostStatus = (answer: string): Result<HostStatus, LabelErrorCode> => {
  const frames = hostStatusFrames(answer);
  const one = frames[0]?.split(',');
  const two = frames[1]?.split(',');
  // Paper out and pause (string 1), head up and ribbon out (string 2) are what we act on.
  if (
    !one ||
    one.length < 3 ||
    !two ||
    two.length < 4 ||
    ![one[1], one[2], two[2], two[3]].every((v) => /^\s*[01]\s*$/.test(v ?? ''))
  )
    return labelErr(
      'LABEL_PRINTER_BAD_STATUS',
      `The printer's answer to ~HS is not a Zebra host status: ${JSON.stringify(answer.slice(0, 120))}.`,
      { details: { answer: answer.slice(0, 200) } },
    );
  return ok({
    paperOut: flag(one[1]),
    paused: flag(one[2]),
    labelLengthDots: num(one[3]),
    formatsInBuffer: num(one[4]),
    bufferFull: flag(one[5]),
    diagnosticMode: flag(one[6]),
    partialFormat: flag(one[7]),
    corruptRam: flag(one[9]),
    underTemperature: flag(one[10]),
    overTemperature: flag(one[11]),
    headUp: flag(two[2]),
    ribbonOut: flag(two[3]),
    thermalTransfer: flag(two[4]),
    printMode: num(two[5]),
    labelWaiting: flag(two[7]),
    labelsRemaining: num(two[8]),
  });
};

/**
 * Ready to print, or the one condition an operator should fix first (all of them are in
 * `details.conditions`). A head left open also reads as paper out on many printers, so the
 * head comes first: closing it may clear both.
 */
export const readiness = (status: HostStatus): Result<HostStatus, LabelErrorCode> => {
  const conditions: LabelErrorCode[] = [];
  if (status.headUp) conditions.push('LABEL_PRINTER_HEAD_OPEN');
  if (status.paperOut) conditions.push('LABEL_PRINTER_PAPER_OUT');
  if (status.ribbonOut) conditions.push('LABEL_PRINTER_RIBBON_OUT');
  if (status.corruptRam) conditions.push('LABEL_PRINTER_FAULT');
  if (status.underTemperature || status.overTemperature) conditions.push('LABEL_PRINTER_TEMPERATURE');
  if (status.bufferFull) conditions.push('LABEL_PRINTER_BUFFER_FULL');
  if (status.paused) conditions.push('LABEL_PRINTER_PAUSED');
  const first = conditions[0];
  if (!first) return ok(status);
  const words: Record<string, string> = {
    LABEL_PRINTER_HEAD_OPEN: 'its print head is open',
    LABEL_PRINTER_PAPER_OUT: 'it is out of labels',
    LABEL_PRINTER_RIBBON_OUT: 'it is out of ribbon',
    LABEL_PRINTER_FAULT: 'it reports corrupt memory',
    LABEL_PRINTER_TEMPERATURE: status.overTemperature ? 'its head is too hot' : 'its head is too cold',
    LABEL_PRINTER_BUFFER_FULL: 'its receive buffer is full',
    LABEL_PRINTER_PAUSED: 'it is paused',
  };
  const said = conditions.map((c) => words[c] ?? c);
  return labelErr(first, `The label printer is not ready: ${said.join(', ')}.`, {
    details: { conditions, status },
  });
};
