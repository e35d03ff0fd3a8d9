import type { Readiness } from '../../core/contract/index';

/** The first thing an operator looks at: can this station run, yes or no. */
export const ReadyBanner = ({ readiness }: { readiness: Readiness }) => {
  const open = readiness.items.filter((i) => !i.ok).length;
  return (
    <section
      className={`banner ${readiness.ready ? 'banner-ready' : 'banner-blocked'}`}
      data-testid="ready-banner"
    >
      {readiness.ready ? 'READY' : `NOT READY: ${open} item${open === 1 ? '' : 's'} open`}
    </section>
  );
};
