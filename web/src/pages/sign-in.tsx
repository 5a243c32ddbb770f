import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import type { Account } from "../api/types";
import { useSession } from "../auth/session";
import { Message, Outcome, Page } from "../components/page";
import { useAction } from "../hooks";

/** Where an account lands after signing in, unless it was sent here from a page. */
export const homeOf = (account: Account): string =>
  account.role === "admin" ? "/admin/doctors" : account.role === "doctor" ? "/schedule" : "/doctors";

/** Only paths of this app: a `next` that points elsewhere is ignored. */
const safeNext = (next: string | null): string | undefined => (next && next.startsWith("/") && !next.startsWith("//") ? next : undefined);

export function SignInPage() {
  const session = useSession();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await action.run(async () => {
      const account = await session.signIn(email.trim(), password);
      await navigate(safeNext(params.get("next")) ?? homeOf(account), { replace: true });
    });
  };

  return (
    <Page title="Sign in">
      {session.endedBecause ? <Message kind="info">{session.endedBecause}</Message> : null}
      <form className="card form" onSubmit={submit}>
        <label htmlFor="sign-in-email">E-mail address</label>
        <input id="sign-in-email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="sign-in-password">Password</label>
        <input id="sign-in-password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <button type="submit" disabled={action.busy}>
          {action.busy ? "Signing in…" : "Sign in"}
        </button>
        <Outcome message={action.message} />
      </form>
      <p>
        New here? <Link to="/register">Create a patient account</Link>.
      </p>
    </Page>
  );
}

export function RegisterPage() {
  const session = useSession();
  const navigate = useNavigate();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    await action.run(async () => {
      const account = await session.register(email.trim(), password);
      await navigate(homeOf(account), { replace: true });
    });
  };

  return (
    <Page title="Create a patient account" intro="Doctors' and staff accounts are made by the clinic.">
      <form className="card form" onSubmit={submit}>
        <label htmlFor="register-email">E-mail address</label>
        <input id="register-email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <label htmlFor="register-password">Password</label>
        <input
          id="register-password"
          type="password"
          autoComplete="new-password"
          required
          minLength={12}
          aria-describedby="register-password-hint"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <p id="register-password-hint" className="hint">
          At least 12 characters.
        </p>
        <button type="submit" disabled={action.busy}>
          {action.busy ? "Creating…" : "Create account"}
        </button>
        <Outcome message={action.message} />
      </form>
      <p>
        Have an account? <Link to="/sign-in">Sign in</Link>.
      </p>
    </Page>
  );
}
