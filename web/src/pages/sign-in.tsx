import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import type { Account } from "../api/types";
import { useSession } from "../auth/session";
import { Field } from "../components/field";
import { Message, Outcome, Page } from "../components/page";
import { useAction } from "../hooks";

/** Where an account lands after signing in, unless it was sent here from a page. */
export const homeOf = (account: Account): string =>
  account.role === "admin" ? "/admin/doctors" : account.role === "doctor" ? "/schedule" : "/doctors";

/** Only paths of this app: a `next` that points elsewhere is ignored. */
const safeNext = (next: string | null): string | undefined => (next && next.startsWith("/") && !next.startsWith("//") ? next : undefined);

/**
 * An e-mail address and a password, sent with `send` (which goes on to the account's page); a
 * failure is shown under the button. `id` prefixes the fields' ids.
 */
function CredentialsForm({
  id,
  send,
  newPassword,
  submitLabel,
  busyLabel,
}: {
  id: string;
  send: (email: string, password: string) => Promise<void>;
  /** A password being chosen (registration), rather than one being typed from memory. */
  newPassword: boolean;
  submitLabel: string;
  busyLabel: string;
}) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await action.run(() => send(email.trim(), password));
  };

  return (
    <form className="card form" onSubmit={submit}>
      <Field id={`${id}-email`} label="E-mail address" type="email" autoComplete={newPassword ? "email" : "username"} required value={email} onValue={setEmail} />
      <Field
        id={`${id}-password`}
        label="Password"
        type="password"
        autoComplete={newPassword ? "new-password" : "current-password"}
        required
        {...(newPassword ? { minLength: 12, hint: "At least 12 characters." } : {})}
        value={password}
        onValue={setPassword}
      />
      <button type="submit" disabled={action.busy}>
        {action.busy ? busyLabel : submitLabel}
      </button>
      <Outcome message={action.message} />
    </form>
  );
}

export function SignInPage() {
  const session = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();

  const signIn = async (email: string, password: string) => {
    const account = await session.signIn(email, password);
    await navigate(safeNext(params.get("next")) ?? homeOf(account), { replace: true });
  };

  return (
    <Page title="Sign in">
      {session.endedBecause ? <Message kind="info">{session.endedBecause}</Message> : null}
      <CredentialsForm id="sign-in" send={signIn} newPassword={false} submitLabel="Sign in" busyLabel="Signing in…" />
      <p>
        New here? <Link to="/register">Create a patient account</Link>.
      </p>
    </Page>
  );
}

export function RegisterPage() {
  const session = useSession();
  const navigate = useNavigate();

  const register = async (email: string, password: string) => {
    const account = await session.register(email, password);
    await navigate(homeOf(account), { replace: true });
  };

  return (
    <Page title="Create a patient account" intro="Doctors' and staff accounts are made by the clinic.">
      <CredentialsForm id="register" send={register} newPassword submitLabel="Create account" busyLabel="Creating…" />
      <p>
        Have an account? <Link to="/sign-in">Sign in</Link>.
      </p>
    </Page>
  );
}
