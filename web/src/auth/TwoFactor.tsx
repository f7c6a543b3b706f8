// The profile's "Two-factor authentication" section: enrol (password → QR code and secret →
// a code confirms), the ten recovery codes shown once, new recovery codes, turning it off.
// The QR code is drawn here, in the browser (npm `qrcode`): the secret never leaves for a
// third-party service.

import { useEffect, useRef, useState, type FormEvent } from 'react';
import QRCode from 'qrcode';
import { useAuth } from './AuthProvider';
import { ApiError, messageOf } from '../api/errors';
import type { TotpEnrolment } from '../api/types';
import { Field, FormError } from '../components/Field';
import { codeError, groupSecret, recoveryCodesText } from '../lib/mfa';

type Stage =
  | { kind: 'idle' }
  | { kind: 'enrolling'; enrolment: TotpEnrolment }
  | { kind: 'codes'; codes: string[]; fresh: boolean };

export function TwoFactorSection() {
  const { user, setUser } = useAuth();
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const enabled = !!user?.mfaEnabled;
  const setEnabled = (on: boolean) => user && setUser({ ...user, mfaEnabled: on });

  return (
    <section className="dialog-section" data-testid="two-factor">
      <h3>Two-factor authentication</h3>
      {stage.kind === 'codes' ? (
        <RecoveryCodes codes={stage.codes} fresh={stage.fresh} onDone={() => setStage({ kind: 'idle' })} />
      ) : stage.kind === 'enrolling' ? (
        <ConfirmEnrolment
          enrolment={stage.enrolment}
          onCancel={() => setStage({ kind: 'idle' })}
          onEnabled={(codes) => {
            setEnabled(true);
            setStage({ kind: 'codes', codes, fresh: true });
          }}
        />
      ) : enabled ? (
        <Enabled onDisabled={() => setEnabled(false)} onNewCodes={(codes) => setStage({ kind: 'codes', codes, fresh: false })} />
      ) : (
        <StartEnrolment onStarted={(enrolment) => setStage({ kind: 'enrolling', enrolment })} />
      )}
    </section>
  );
}

/** The account's password, then a new secret. */
function StartEnrolment({ onStarted }: { onStarted: (e: TotpEnrolment) => void }) {
  const { api } = useAuth();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    if (!password) return setError('Enter your password.');
    setError(undefined);
    setBusy(true);
    try {
      onStarted(await api.enrolTotp(password));
    } catch (x) {
      if (x instanceof ApiError && x.code === 'wrong_current_password') setError('That is not your password.');
      else setFormError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate>
      <p className="muted small">
        Off. With it on, logging in asks for a code from an authenticator app on your phone as well as your password.
      </p>
      <Field
        label="Password"
        name="mfa-password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={error}
      />
      <FormError message={formError} />
      <div className="dialog-actions start">
        <button type="submit" className="button button-primary" disabled={busy}>
          Set up two-factor authentication
        </button>
      </div>
    </form>
  );
}

/** The QR code and the secret, and a code from the app to turn it on. */
function ConfirmEnrolment({
  enrolment,
  onCancel,
  onEnabled,
}: {
  enrolment: TotpEnrolment;
  onCancel: () => void;
  onEnabled: (codes: string[]) => void;
}) {
  const { api } = useAuth();
  const canvas = useRef<HTMLCanvasElement>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!canvas.current) return;
    QRCode.toCanvas(canvas.current, enrolment.otpauthUri, { margin: 2, width: 200, errorCorrectionLevel: 'M' }).catch(() =>
      setFormError('The QR code could not be drawn: type the key below into your app instead.'),
    );
  }, [enrolment.otpauthUri]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    const bad = codeError(code, false);
    setError(bad);
    if (bad) return;
    setBusy(true);
    try {
      const { recoveryCodes } = await api.confirmTotp(code.replace(/\s/g, ''));
      onEnabled(recoveryCodes);
    } catch (x) {
      if (x instanceof ApiError && x.code === 'invalid_mfa_code') setError('That code is not right. Enter the one your app shows now.');
      else setFormError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate>
      <p className="muted small">Scan this QR code with your authenticator app, or type the key into it by hand.</p>
      <canvas ref={canvas} className="totp-qr" aria-label="QR code of the two-factor secret" role="img" />
      <p className="small">
        Key: <code data-testid="totp-secret">{groupSecret(enrolment.secret)}</code>
      </p>
      <Field
        label="Code from the app"
        name="totp-code"
        inputMode="numeric"
        autoComplete="one-time-code"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={error}
      />
      <FormError message={formError} />
      <div className="dialog-actions start">
        <button type="submit" className="button button-primary" disabled={busy}>
          Turn on
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** The recovery codes, shown this once, with a copy button. */
function RecoveryCodes({ codes, fresh, onDone }: { codes: string[]; fresh: boolean; onDone: () => void }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  async function copy() {
    try {
      await navigator.clipboard.writeText(recoveryCodesText(codes));
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <div>
      <p className="success" role="status">
        {fresh ? 'Two-factor authentication is on.' : 'New recovery codes made; the old ones no longer work.'}
      </p>
      <p className="small">
        Keep these recovery codes somewhere safe. Each one works once in place of a code from your app, if you lose your
        phone. They are shown only now.
      </p>
      <ul className="recovery-codes" data-testid="recovery-codes">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      {copied === false && <FormError message="Copying failed: select the codes and copy them by hand." />}
      <div className="dialog-actions start">
        <button type="button" className="button" onClick={copy}>
          {copied ? 'Copied' : 'Copy codes'}
        </button>
        <button type="button" className="button button-primary" onClick={onDone}>
          I have saved them
        </button>
      </div>
    </div>
  );
}

/** On: new recovery codes, or turn it off (password and a code, each). */
function Enabled({ onDisabled, onNewCodes }: { onDisabled: () => void; onNewCodes: (codes: string[]) => void }) {
  const { api } = useAuth();
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function act(what: 'disable' | 'codes') {
    setFormError(null);
    const errs: Record<string, string> = {};
    if (!password) errs.password = 'Enter your password.';
    const bad = codeError(code);
    if (bad) errs.code = bad;
    setErrors(errs);
    if (Object.keys(errs).length) return;
    setBusy(true);
    try {
      if (what === 'disable') {
        await api.disableTotp(password, code.trim());
        onDisabled();
      } else {
        onNewCodes((await api.newRecoveryCodes(password, code.trim())).recoveryCodes);
      }
      setPassword('');
      setCode('');
    } catch (x) {
      if (x instanceof ApiError && x.code === 'wrong_current_password') setErrors({ password: 'That is not your password.' });
      else if (x instanceof ApiError && (x.code === 'invalid_mfa_code' || x.code === 'mfa_code_required')) setErrors({ code: x.userMessage });
      else setFormError(messageOf(x));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void act('codes');
      }}
      noValidate
    >
      <p className="muted small">
        <span className="tag">On</span> Logging in asks for a code from your authenticator app (or a recovery code).
      </p>
      <Field
        label="Password"
        name="mfa-password"
        type="password"
        autoComplete="current-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        error={errors.password}
      />
      <Field
        label="Code from the app, or a recovery code"
        name="mfa-code"
        autoComplete="one-time-code"
        value={code}
        onChange={(e) => setCode(e.target.value)}
        error={errors.code}
      />
      <FormError message={formError} />
      <div className="dialog-actions start">
        <button type="submit" className="button" disabled={busy}>
          New recovery codes
        </button>
        <button type="button" className="button button-danger" disabled={busy} onClick={() => void act('disable')}>
          Turn off
        </button>
      </div>
    </form>
  );
}
