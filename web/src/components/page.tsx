import { useEffect, useRef, type ReactNode } from "react";

let firstPage = true;

/**
 * A page: its title in the tab and one `h1`. After a navigation, focus moves to the heading, so a
 * screen reader announces the new page and keyboard users start from its top (on the first load
 * focus stays where the browser put it).
 */
export function Page({ title, children, intro }: { title: string; children: ReactNode; intro?: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · Clinic`;
    if (firstPage) firstPage = false;
    else heading.current?.focus();
  }, [title]);
  return (
    <>
      <h1 ref={heading} tabIndex={-1}>
        {title}
      </h1>
      {intro ? <p className="intro">{intro}</p> : null}
      {children}
    </>
  );
}

/** An outcome: errors interrupt (role=alert), successes are announced politely. */
export function Message({ kind, children }: { kind: "success" | "error" | "info"; children: ReactNode }) {
  if (!children) return null;
  return (
    <p className={`message message-${kind}`} role={kind === "error" ? "alert" : "status"}>
      {children}
    </p>
  );
}

export function Outcome({ message }: { message: { kind: "success" | "error"; text: string } | undefined }) {
  return message ? <Message kind={message.kind}>{message.text}</Message> : null;
}

/** A loading/error line for data a page waits for. */
export function LoadState({ loading, error, empty }: { loading: boolean; error: string | undefined; empty?: string | false }) {
  if (error) return <Message kind="error">{error}</Message>;
  if (loading) return <p className="muted">Loading…</p>;
  if (empty) return <p className="muted">{empty}</p>;
  return null;
}

/**
 * A table that scrolls sideways on a narrow screen; the scrolling region is focusable and named,
 * so keyboard users can scroll it too.
 */
export function TableRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-region" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
