import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import type { Role } from "../api/types";
import { useSession } from "../auth/session";
import { Message, Page } from "./page";

/** Pages for signed-in accounts of some roles: others are sent to sign in, or told they may not. */
export function RequireRole({ roles, children }: { roles: Role[]; children: ReactNode }) {
  const { status, account } = useSession();
  const location = useLocation();
  if (status === "restoring") return <p className="muted">Signing you in…</p>;
  if (status === "signed-out" || !account) {
    return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  }
  if (!roles.includes(account.role)) {
    return (
      <Page title="Not for your account">
        <Message kind="error">This page is for {roles.join(" or ")} accounts.</Message>
      </Page>
    );
  }
  return <>{children}</>;
}
