import { afterEach, describe, expect, it } from 'vitest';
import { listLabelJobs, requestReprint } from '../../core/labels/job-store';
import { renderZplImage } from '../../core/labels/preview';
import { renderZpl, zplSymbolContents } from '../../core/labels/zpl';
import { portPaths } from '../../core/sim/index';
import { labelEventLines, slotLabelFor } from '../../core/station/labels';
import { slotLine } from '../../core/station/report';
import type { Session } from '../../core/station/session';
import { decodeSymbol } from '../labels/decode';
import { symbolRegion } from '../labels/helpers';
import { collect, isFinished, isLabel, type LabelLine, nextEvent, startLabelLine } from './label-rig';

/*
 * Labels wired into the station (core/station/labels.ts through openSession): each PASS queues
 * its label in its own commit, the session's print loop prints it on the fake ZPL printer on
 * 127.0.0.1, and every change reaches the slot. What the printer received is decoded, not
 * trusted: ZXing reads the Data Matrix Zebrash draws from the ZPL.
 */

let line: LabelLine | undefined;
afterEach(async () => {
  await line?.close();
  line = undefined;
});

/** Plugs devices into ports `from…` and resolves with their finished attempts. */
const plugAll = async (session: Session, l: LabelLine, seeds: string[], from = 0) => {
  const done = collect(session, isFinished, seeds.length);
  const ports = portPaths(from + seeds.length).slice(from);
  seeds.forEach((seed, i) => {
    l.bus.plug(l.device(seed), ports[i] ?? '');
  });
  return done;
};

const template = (session: Session) => {
  const t = session.loaded.profile.label;
  if (!t) throw new Error('the profile has no label');
  return t;
};

describe('labels through the station', () => {
  it('prints every PASS’s label once, and each decodes to its own device’s record', async () => {
    line = await startLabelLine({ slots: 4 });
    const session = await line.open('LOT-L1');
    await session.station.start();
    const printed = collect(session, isLabel('printed'), 4);
    const finished = await plugAll(session, line, ['a', 'b', 'c', 'd']);
    expect(finished.map((e) => e.attempt.result)).toEqual(['pass', 'pass', 'pass', 'pass']);
    // Each PASS went out with its label already queued (same commit).
    for (const e of finished) expect(e.label?.state).toBe('pending');
    await printed;

    const jobs = listLabelJobs(session.log.db, { batchId: session.batch.id });
    expect(jobs.map((j) => j.state)).toEqual(['printed', 'printed', 'printed', 'printed']);
    const devices = finished.map((e) => e.attempt.deviceId).sort();
    expect(jobs.map((j) => j.deviceId).sort()).toEqual(devices);
    // Once each: four labels reached the printer, one per device.
    const received = line.printer.jobs();
    expect(received).toHaveLength(4);
    expect(received.flatMap((r) => zplSymbolContents(r.zpl).map((s) => s.content)).sort()).toEqual(devices);
    for (const job of jobs) {
      // What identify read (serial, and the SIM's ICCID on this cellular Boron) is on the label.
      const attempt = session.log.attempts(session.batch.id).find((x) => x.id === job.attemptId);
      expect(attempt?.serialNumber).toBeTruthy();
      expect([job.record.serial, job.record.iccid]).toEqual([
        attempt?.serialNumber ?? undefined,
        attempt?.iccid ?? undefined,
      ]);
      expect(job.record).toMatchObject({
        deviceId: job.deviceId,
        productName: 'Demo Widget',
        productVersion: '3',
        lot: 'LOT-L1',
        station: 'line-1',
      });
      const z = renderZpl(template(session), job.record);
      if (!z.ok) throw new Error(z.error.message);
      const sent = received.find((r) => r.zpl === z.value.zpl.trim());
      expect(sent).toBeDefined();
      const image = await renderZplImage(sent?.zpl ?? '', template(session).size);
      if (!image.ok) throw new Error(image.error.message);
      expect(decodeSymbol(image.value, 'datamatrix', symbolRegion(z.value.layout))).toBe(job.deviceId);
    }
    // The slots say so.
    for (const v of session.station.views()) {
      expect(v.state).toBe('passed');
      expect(v.deviceLabel?.state).toBe('printed');
      expect(slotLine(v)).toMatch(/PASS, label printed$/);
    }
  });

  it('paper out mid-batch: the PASSes show "label pending" under the printer’s problem, then print once the roll is back', async () => {
    line = await startLabelLine({ slots: 4 });
    const session = await line.open('LOT-L2');
    await session.station.start();
    const firstTwo = collect(session, isLabel('printed'), 2);
    await plugAll(session, line, ['p1', 'p2']);
    await firstTwo;

    line.printer.set({ paperOut: true });
    const waiting = collect(session, isLabel('waiting'), 1);
    const finished = await plugAll(session, line, ['p3', 'p4'], 2);
    expect(finished.map((e) => e.attempt.result)).toEqual(['pass', 'pass']);
    await waiting;
    const pendingSlots = session.station.views().filter((v) => v.deviceLabel?.state === 'pending');
    // Both later PASSes wait; neither turned into a FAIL.
    expect(pendingSlots.map((v) => v.state)).toEqual(['passed', 'passed']);
    // The first waiting one was tried and names the printer's state; the one behind it waits its turn.
    const tried = pendingSlots.find((v) => v.deviceLabel?.problem);
    expect(tried?.deviceLabel?.problem).toMatchObject({
      code: 'LABEL_PRINTER_PAPER_OUT',
      title: 'Label printer out of labels',
    });
    if (!tried) throw new Error('no slot names the printer’s problem');
    expect(slotLine(tried)).toMatch(/PASS, label pending \(Label printer out of labels\)$/);
    expect(line.printer.jobs()).toHaveLength(2);

    const rest = collect(session, isLabel('printed'), 2);
    line.printer.set({ paperOut: false });
    await rest;
    const jobs = listLabelJobs(session.log.db, { batchId: session.batch.id });
    expect(jobs.map((j) => j.state)).toEqual(['printed', 'printed', 'printed', 'printed']);
    // Nothing lost, nothing doubled, and the queue kept its order.
    const contents = line.printer.jobs().flatMap((r) => zplSymbolContents(r.zpl).map((s) => s.content));
    expect(contents).toEqual(jobs.map((j) => j.content));
    for (const v of session.station.views()) expect(v.deviceLabel?.state).toBe('printed');
  });

  it('scan-back: the right label verifies; a wrong one is a loud LABEL_MISMATCH with both values on the slot', async () => {
    line = await startLabelLine({ slots: 2 });
    const session = await line.open('LOT-L3');
    const labels = session.labels;
    if (!labels) throw new Error('no labels on a labelling profile');
    expect(labels.scanBack).toBe(true);
    await session.station.start();
    const printed = collect(session, isLabel('printed'), 2);
    const finished = await plugAll(session, line, ['s1', 's2']);
    await printed;
    const [first, second] = finished.map((e) => e.attempt);
    if (!first?.deviceId || !second?.deviceId) throw new Error('no device IDs');

    // A scanner's prefix and line ending, and Caps Lock: still the label of the first device.
    const mismatchEvent = nextEvent(session, isLabel('mismatch'));
    const ok = labels.scan(`]d2${first.deviceId.toUpperCase()}\r\n`, 'ana');
    expect(ok.ok && ok.value.attemptId).toBe(first.id);
    const slotOf = (attemptId: number) => session.station.views().find((v) => v.attemptId === attemptId);
    expect(slotOf(first.id)?.deviceLabel?.verified).toBe('verified');

    const wrong = labels.scan('P046NOTTHISONE', 'ana');
    expect(wrong.ok).toBe(false);
    if (wrong.ok) return;
    expect(wrong.error.code).toBe('LABEL_MISMATCH');
    expect(wrong.error.details).toMatchObject({ expected: second.deviceId, scanned: 'P046NOTTHISONE' });
    expect(wrong.error.message).toContain(second.deviceId);
    expect(wrong.error.message).toContain('P046NOTTHISONE');
    const told = await mismatchEvent;
    expect(told.slot).toBe(second.slot);
    const slot = slotOf(second.id);
    expect(slot?.state).toBe('passed');
    expect(slot?.deviceLabel).toMatchObject({
      verified: 'mismatch',
      mismatch: { expected: second.deviceId, scanned: 'P046NOTTHISONE' },
    });
    if (!slot) throw new Error('the slot no longer shows the attempt');
    expect(slotLine(slot)).toContain(
      `LABEL MISMATCH: the label says P046NOTTHISONE, the device is ${second.deviceId}`,
    );
    // Kept in the log: a restarted screen shows the same.
    expect(slotLabelFor(session.log.db, second.id)?.mismatch?.scanned).toBe('P046NOTTHISONE');

    // The right sticker clears it.
    expect(labels.scan(second.deviceId).ok).toBe(true);
    expect(slotOf(second.id)?.deviceLabel?.verified).toBe('verified');
  });

  it('a reprint is audited with who asked, prints again, and the slot follows it', async () => {
    line = await startLabelLine({ slots: 1 });
    const session = await line.open('LOT-L4');
    await session.station.start();
    const printed = nextEvent(session, isLabel('printed'));
    const [done] = await plugAll(session, line, ['r1']);
    await printed;
    const attempt = done?.attempt;
    if (!attempt) throw new Error('no attempt');

    const again = nextEvent(session, isLabel('printed'));
    const job = requestReprint(session.log.db, { attemptId: attempt.id, actor: 'ana', reason: 'torn' });
    if (!job.ok) throw new Error(job.error.message);
    const told = await again;
    expect(told.label.jobId).toBe(job.value.id);
    expect(told.slot).toBe(attempt.slot);
    expect(line.printer.jobs()).toHaveLength(2);
    expect(line.printer.jobs().map((r) => zplSymbolContents(r.zpl)[0]?.content)).toEqual([
      attempt.deviceId,
      attempt.deviceId,
    ]);
    const audit = session.log.audit(session.batch.id).filter((a) => a.action === 'label-reprint');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'ana', details: { attemptId: attempt.id, reason: 'torn' } });
  });

  it('tells a run’s log each printed label, and a printer problem once rather than at every retry', async () => {
    line = await startLabelLine({ slots: 2 });
    const session = await line.open('LOT-L6');
    const tell = labelEventLines();
    const lines: string[] = [];
    session.station.on((e) => {
      if (e.type !== 'label') return;
      const text = tell(e);
      if (text) lines.push(text);
    });
    await session.station.start();
    line.printer.set({ paperOut: true });
    const waited = collect(session, isLabel('waiting'), 3);
    const finished = await plugAll(session, line, ['t1', 't2']);
    await waited;
    const printed = collect(session, isLabel('printed'), 2);
    line.printer.set({ paperOut: false });
    await printed;
    const [a, b] = finished.map((e) => `slot ${e.slot} ${e.attempt.deviceId}`);
    expect(lines[0]).toBe(
      'labels waiting: Label printer out of labels (LABEL_PRINTER_PAPER_OUT). Load a new label roll; the queued labels then print.',
    );
    // The first label out says the printer is back; each label is one line.
    expect(lines[1]).toMatch(/^label printer ready again; /);
    expect(
      lines
        .slice(1)
        .map((l) => l.replace(/^label printer ready again; /, ''))
        .sort(),
    ).toEqual([`${a} label printed`, `${b} label printed`].sort());
    expect(lines).toHaveLength(3);
  });

  it('an OTA-on-setup PASS (identify and register only) prints its label too', async () => {
    line = await startLabelLine({ slots: 1, mode: 'ota-on-setup' });
    const session = await line.open('LOT-L7');
    await session.station.start();
    const printed = nextEvent(session, isLabel('printed'));
    const [done] = await plugAll(session, line, ['o1']);
    expect(done?.attempt).toMatchObject({ result: 'pass', step: 'register' });
    expect((await printed).deviceId).toBe(done?.attempt.deviceId);
    expect(line.printer.jobs().map((j) => zplSymbolContents(j.zpl)[0]?.content)).toEqual([
      done?.attempt.deviceId,
    ]);
  });

  it('a profile without a label prints nothing and the session has no label loop', async () => {
    line = await startLabelLine({ slots: 1, withoutLabel: true });
    const session = await line.open('LOT-L5');
    expect(session.labels).toBeUndefined();
    await session.station.start();
    const [done] = await plugAll(session, line, ['n1']);
    expect(done?.attempt.result).toBe('pass');
    expect(done?.label).toBeUndefined();
    expect(listLabelJobs(session.log.db)).toEqual([]);
    expect(line.printer.connections()).toBe(0);
  });
});
