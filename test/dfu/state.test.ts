import { describe, expect, it } from 'vitest';
import { DfuState } from '../../core/dfu';
import { OpContext } from '../../core/dfu/context';
import { encodeDfuseCommand } from '../../core/dfu/dfuse';
import { recoverToIdle } from '../../core/dfu/state';
import { openSim } from './helpers';

const ctx = () => new OpContext('test', { timeoutMs: 5000 }, 5000);

describe('recoverToIdle brings the device to dfuIDLE from any state', () => {
  it('from dfuERROR with CLRSTATUS', async () => {
    const { session, device } = await openSim('boron');
    // CLRSTATUS outside dfuERROR has no transition: the device stalls and enters dfuERROR.
    await expect(session.io.clrStatus(ctx())).rejects.toMatchObject({ error: { code: 'USB_STALL' } });
    expect(device.dfuState.state).toBe(DfuState.dfuERROR);
    await session.ensureIdle();
    expect(device.dfuState.state).toBe(DfuState.dfuIDLE);
  });

  it('from dfuDNLOAD-IDLE with ABORT, or accepts it when the next step may start there', async () => {
    const { session, device } = await openSim('boron');
    const c = ctx();
    await session.io.dnload(0, encodeDfuseCommand(0x21, 0xb4000), c);
    await session.io.getStatus(c);
    await session.io.getStatus(c);
    expect(device.dfuState.state).toBe(DfuState.dfuDNLOAD_IDLE);
    expect((await recoverToIdle(session.io, c, [DfuState.dfuIDLE, DfuState.dfuDNLOAD_IDLE])).state).toBe(
      DfuState.dfuDNLOAD_IDLE,
    );
    expect((await recoverToIdle(session.io, c)).state).toBe(DfuState.dfuIDLE);
    expect(device.dfuState.state).toBe(DfuState.dfuIDLE);
  });

  it('from dfuUPLOAD-IDLE with ABORT', async () => {
    const { session, device } = await openSim('boron');
    const c = ctx();
    await session.io.dnload(0, encodeDfuseCommand(0x21, 0xb4000), c);
    await session.io.getStatus(c);
    await session.io.getStatus(c);
    await session.io.abort(c);
    await session.io.upload(2, 4096, c);
    expect(device.dfuState.state).toBe(DfuState.dfuUPLOAD_IDLE);
    await session.ensureIdle();
    expect(device.dfuState.state).toBe(DfuState.dfuIDLE);
  });

  it('from dfuDNLOAD-SYNC (a block sent, status not yet asked) with ABORT', async () => {
    const { session, device } = await openSim('boron');
    const c = ctx();
    await session.io.dnload(0, encodeDfuseCommand(0x21, 0xb4000), c);
    expect(device.dfuState.state).toBe(DfuState.dfuDNLOAD_SYNC);
    await session.ensureIdle();
    expect(device.dfuState.state).toBe(DfuState.dfuIDLE);
  });

  it('says what to do when the device waits for a reset', async () => {
    const { session } = await openSim('boron');
    const c = ctx();
    await session.io.dnload(0, encodeDfuseCommand(0x21, 0xb4000), c);
    await session.io.getStatus(c);
    await session.io.getStatus(c);
    await session.io.dnload(2, undefined, c);
    await session.io.getStatus(c); // dfuMANIFEST; the device now waits for its reset
    await expect(recoverToIdle(session.io, c)).rejects.toMatchObject({
      error: { code: expect.stringMatching(/^(DFU_BAD_STATE|USB_DISCONNECTED)$/) },
    });
  });
});
