import { useCallback, useEffect, useRef, useState } from 'react';
import type { LinestationBridge, StationState } from '../core/contract/index';
import { unwrap } from './bridge';

/** The line's latest snapshot: fetched once, then pushed by the core's station.changed event. */
export const useStation = (bridge: LinestationBridge) => {
  const [state, setState] = useState<StationState | undefined>();
  const listeners = useRef(new Set<(prev: StationState | undefined, next: StationState) => void>());
  const last = useRef<StationState | undefined>(undefined);

  const apply = useCallback((next: StationState) => {
    const prev = last.current;
    last.current = next;
    for (const l of listeners.current) l(prev, next);
    setState(next);
  }, []);

  const refresh = useCallback(async () => {
    apply(unwrap(await bridge.invoke('station.state', {})));
  }, [bridge, apply]);

  useEffect(() => {
    const off = bridge.on('station.changed', apply);
    void refresh().catch(() => undefined);
    return off;
  }, [bridge, apply, refresh]);

  /** Called with each change (previous and new snapshot), e.g. to beep on a new PASS. */
  const onChange = useCallback((l: (prev: StationState | undefined, next: StationState) => void) => {
    listeners.current.add(l);
    return () => {
      listeners.current.delete(l);
    };
  }, []);

  return { state, refresh, apply, onChange };
};
