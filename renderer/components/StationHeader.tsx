import type { ProfileView, StationState } from '../../core/contract/index';
import { modeBadge, pct } from '../format';

/** Which firmware this line writes: the product firmware version and a short hash an engineer can compare. */
const firmwareLabel = (profile: ProfileView | undefined, state: StationState): string => {
  const user = profile?.firmware.flatMap((f) => f.modules).find((m) => m.kind === 'user');
  const version = user?.productVersion ?? user?.version;
  const hash = state.batch?.profileHash ?? profile?.profileHash ?? '';
  return `${version !== undefined ? `v${version}` : 'no firmware'} · ${hash.slice(0, 8)}`;
};

export const StationHeader = ({
  profile,
  state,
}: {
  profile: ProfileView | undefined;
  state: StationState;
}) => {
  const b = state.batch;
  const mode = b?.mode ?? profile?.provisioningMode;
  return (
    <section className="station-header">
      <div className="station-product">
        <div className="station-product-name" data-testid="station-product">
          {b?.productName ?? profile?.product.name ?? 'No product'}
        </div>
        <div className="station-sub">
          <span data-testid="station-platform">{profile?.platform.displayName ?? b?.platform ?? ''}</span>
          <span className="sep">·</span>
          <span data-testid="station-firmware">{firmwareLabel(profile, state)}</span>
          <span className="sep">·</span>
          <span>{state.stationName}</span>
          {state.lineDatabase && (
            <>
              <span className="sep">·</span>
              <span data-testid="station-line-db">{state.lineDatabase}</span>
            </>
          )}
        </div>
      </div>
      <div className={`mode-badge mode-${mode ?? 'none'}`} data-testid="mode-badge">
        {modeBadge(mode)}
      </div>
      <dl className="station-stats">
        <div>
          <dt>Lot</dt>
          <dd data-testid="stat-lot">{b?.lot ?? '–'}</dd>
        </div>
        <div>
          <dt>Operator</dt>
          <dd data-testid="stat-operator">{b?.operator ?? '–'}</dd>
        </div>
        <div className="stat-pass">
          <dt>Passed</dt>
          <dd data-testid="stat-passed">{b?.passed ?? 0}</dd>
        </div>
        <div className="stat-fail">
          <dt>Failed</dt>
          <dd data-testid="stat-failed">{b?.failed ?? 0}</dd>
        </div>
        <div>
          <dt>Total</dt>
          <dd data-testid="stat-total">{b?.devices ?? 0}</dd>
        </div>
        <div>
          <dt>Yield</dt>
          <dd data-testid="stat-yield">{b && b.devices > 0 ? pct(b.yield) : '–'}</dd>
        </div>
        <div>
          <dt>Per hour</dt>
          <dd data-testid="stat-rate">{b && b.devicesPerHour > 0 ? Math.round(b.devicesPerHour) : '–'}</dd>
        </div>
      </dl>
    </section>
  );
};
