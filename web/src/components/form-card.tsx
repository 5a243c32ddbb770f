import type { FormEvent, ReactNode } from "react";
import { Outcome } from "./page";

/**
 * A card holding one form: its heading names the card (`aria-labelledby`), the submit button is off
 * while the form's action runs, and the action's outcome is announced under the form.
 */
export function FormCard({
  id,
  title,
  onSubmit,
  action,
  submitLabel,
  children,
}: {
  /** The heading's id. */
  id: string;
  title: string;
  onSubmit: (event: FormEvent) => unknown;
  action: { busy: boolean; message: { kind: "success" | "error"; text: string } | undefined };
  submitLabel: string;
  children: ReactNode;
}) {
  return (
    <section className="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      <form className="form" onSubmit={onSubmit}>
        {children}
        <button type="submit" disabled={action.busy}>
          {submitLabel}
        </button>
      </form>
      <Outcome message={action.message} />
    </section>
  );
}
