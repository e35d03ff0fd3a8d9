/**
 * PASS and FAIL beeps with WebAudio: generated tones, so no audio file and nothing for the CSP
 * to allow. A PASS is one short high tone; a FAIL two low ones, so they differ by rhythm as
 * well as pitch (hearing one pitch badly does not hide which it was).
 */
let ctx: AudioContext | undefined;

const tone = (ac: AudioContext, at: number, freq: number, dur: number): void => {
  const osc = ac.createOscillator();
  const gain = ac.createGain();
  osc.type = 'square';
  osc.frequency.value = freq;
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(0.2, at + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + dur);
  osc.connect(gain).connect(ac.destination);
  osc.start(at);
  osc.stop(at + dur + 0.02);
};

export const beep = (kind: 'pass' | 'fail'): void => {
  try {
    ctx ??= new AudioContext();
    const now = ctx.currentTime;
    if (kind === 'pass') tone(ctx, now, 1320, 0.15);
    else {
      tone(ctx, now, 330, 0.22);
      tone(ctx, now + 0.3, 330, 0.22);
    }
  } catch {
    // No audio device: the screen still shows everything.
  }
};
