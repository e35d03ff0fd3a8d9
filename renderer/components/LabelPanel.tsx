import { useEffect, useRef, useState } from 'react';
import type { LabelPreviewView, LinestationBridge, ProfileWithReadiness } from '../../core/contract/index';
import { errorText, unwrap } from '../bridge';

/** A starting point for a profile without a label: Particle-style sticker, Data Matrix of the serial. */
const EXAMPLE = {
  size: { widthMm: 50, heightMm: 25, dpi: 203 },
  symbol: { type: 'datamatrix', content: 'serial' },
  lines: [
    { field: 'productName' },
    { field: 'serial', caption: 'SN' },
    { field: 'deviceId' },
    { field: 'iccid', caption: 'ICCID', optional: true },
    { field: 'date' },
  ],
  printer: { kind: 'zpl', host: '192.168.1.50', port: 9100, timeoutMs: 5000 },
  scanBack: true,
};

type Draft = { ok: true; template: Record<string, unknown> } | { ok: false; problem: string };

const parseDraft = (text: string): Draft => {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return { ok: false, problem: 'The template is a JSON object ({ … }).' };
    return { ok: true, template: v as Record<string, unknown> };
  } catch (e) {
    return { ok: false, problem: `Not valid JSON yet: ${e instanceof Error ? e.message : String(e)}` };
  }
};

/**
 * The label template (the profile's `label` key) with a live preview: the label as its printer
 * will make it, with sample data, redrawn as the engineer types; "Test printer" asks the printer
 * without printing; "Save into profile" writes it (the profile must be locked again).
 */
export const LabelPanel = ({
  bridge,
  profile,
  onProfile,
}: {
  bridge: LinestationBridge;
  profile: ProfileWithReadiness | undefined;
  onProfile: (p: ProfileWithReadiness) => void;
}) => {
  const [text, setText] = useState<string | undefined>();
  const [preview, setPreview] = useState<LabelPreviewView | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [test, setTest] = useState<{ ok: boolean; text: string } | undefined>();
  const [status, setStatus] = useState<string | undefined>();
  const seq = useRef(0);
  const path = profile?.profile.path;

  // The profile's template as written, or the example for a profile without one.
  useEffect(() => {
    if (!path) return;
    void bridge.invoke('profile.read', {}).then((r) => {
      const label = r.ok ? r.value.profile.label : undefined;
      setText(JSON.stringify(label ?? EXAMPLE, null, 2));
    });
  }, [bridge, path]);

  // Redrawn a moment after typing stops; an answer to an older draft never replaces a newer one.
  useEffect(() => {
    if (text === undefined) return;
    const draft = parseDraft(text);
    if (!draft.ok) {
      setProblem(draft.problem);
      return;
    }
    const mine = ++seq.current;
    const t = setTimeout(() => {
      void bridge.invoke('label.preview', { template: draft.template }).then((r) => {
        if (mine !== seq.current) return;
        if (r.ok) {
          setPreview(r.value);
          setProblem(undefined);
        } else setProblem(`${r.error.code}: ${r.error.message}`);
      });
    }, 250);
    return () => clearTimeout(t);
  }, [bridge, text]);

  if (!path || text === undefined) return null;
  const draft = parseDraft(text);

  const testPrinter = async () => {
    if (!draft.ok) return;
    setTest(undefined);
    try {
      const r = unwrap(await bridge.invoke('label.testPrinter', { template: draft.template }));
      setTest({
        ok: r.ok,
        text: r.ok ? r.message : `${r.code ?? ''}: ${r.message}${r.remedy ? ` ${r.remedy}` : ''}`,
      });
    } catch (e) {
      setTest({ ok: false, text: errorText(e) });
    }
  };

  const save = async () => {
    if (!draft.ok) return;
    try {
      const current = unwrap(await bridge.invoke('profile.read', {}));
      const saved = unwrap(
        await bridge.invoke('profile.save', {
          path: current.path,
          profile: { ...current.profile, label: draft.template },
        }),
      );
      onProfile(saved);
      setStatus('Saved into the profile. Lock it again before the next batch.');
    } catch (e) {
      setStatus(errorText(e));
    }
  };

  return (
    <section className="card label-editor" aria-labelledby="label-title" data-testid="label-panel">
      <h2 id="label-title">Label</h2>
      <p className="muted">
        The profile's <code>label</code> template (docs/labels.md). The preview uses sample data and is drawn
        as the printer will make it.
      </p>
      <textarea
        value={text}
        onChange={(e) => setText(e.target.value)}
        spellCheck={false}
        aria-label="Label template (JSON)"
        data-testid="label-template"
      />
      <div className="label-preview" data-testid="label-preview">
        {preview && (
          <figure>
            <img
              src={`data:image/png;base64,${preview.png}`}
              alt={`Label preview, ${preview.widthMm} × ${preview.heightMm} mm, symbol ${preview.content}`}
              width={Math.round((preview.widthMm / 25.4) * 96 * 1.5)}
              data-testid="label-preview-image"
            />
            <figcaption className="muted">
              {preview.widthMm} × {preview.heightMm} mm at {preview.dpi} dpi · symbol {preview.content} ·{' '}
              {preview.source === 'zpl-renderer'
                ? 'our ZPL as a ZPL renderer draws it'
                : 'the PNG/PDF layout'}
            </figcaption>
          </figure>
        )}
        {problem && (
          <p className="remedy" role="alert" data-testid="label-preview-error">
            {problem}
          </p>
        )}
      </div>
      <div className="export-row">
        <button
          type="button"
          className="button"
          disabled={!draft.ok}
          onClick={() => void testPrinter()}
          data-testid="label-test-printer"
        >
          Test printer
        </button>
        <button
          type="button"
          className="button"
          disabled={!draft.ok}
          onClick={() => void save()}
          data-testid="label-save"
        >
          Save into profile
        </button>
      </div>
      {test && (
        <p role="status" data-testid="label-test-result" data-ok={test.ok ? 'true' : 'false'}>
          {test.text}
        </p>
      )}
      {status && <p role="status">{status}</p>}
    </section>
  );
};
