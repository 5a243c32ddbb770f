import type { InputHTMLAttributes, ReactNode } from "react";

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, "id" | "value" | "onChange" | "aria-describedby">;

/**
 * A labelled input: the label names it (`htmlFor`), and a hint, when given, is shown under it and
 * read with it (`aria-describedby`). The value is a string, changed through `onValue`.
 */
export function Field({
  id,
  label,
  hint,
  value,
  onValue,
  ...input
}: InputProps & { id: string; label: ReactNode; hint?: ReactNode; value: string; onValue: (value: string) => void }) {
  const hintId = `${id}-hint`;
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-describedby={hint ? hintId : undefined} value={value} onChange={(e) => onValue(e.target.value)} {...input} />
      {hint ? (
        <p id={hintId} className="hint">
          {hint}
        </p>
      ) : null}
    </>
  );
}
