/** A minimal server-sent events reader for tests: every event kept, and a wait for one. */
export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

export const openEvents = async (url: string) => {
  const abort = new AbortController();
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let ended = false;
  const res = await fetch(url, { signal: abort.signal });
  if (!res.body) throw new Error('no event stream');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let at = buf.indexOf('\n\n');
        while (at >= 0) {
          const block = buf.slice(0, at);
          buf = buf.slice(at + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data !== '') events.push({ event, data: JSON.parse(data) as unknown });
          at = buf.indexOf('\n\n');
        }
        for (const w of waiters) w();
      }
    } catch {
      // Aborted by close(), or the server cut the stream.
    }
    ended = true;
    for (const w of waiters) w();
  })();
  return {
    status: res.status,
    headers: res.headers,
    events,
    get ended() {
      return ended;
    },
    /** Resolves with the first event (from `from` on) that matches, or rejects after `ms`. */
    next(match: (e: SseEvent) => boolean, from = 0, ms = 15_000): Promise<SseEvent> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = events.slice(from).find(match);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no matching event within ${ms} ms (got ${events.map((e) => e.event).join(', ')})`),
          );
        }, ms);
        waiters.add(check);
        check();
      });
    },
    untilEnded(ms = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (ended) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => reject(new Error('the stream did not end')), ms);
        waiters.add(check);
        check();
      });
    },
    close: () => abort.abort(),
  };
};
