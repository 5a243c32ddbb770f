import { Link } from "react-router";
import { addDays, formatDay, isoDate, localTimeZone } from "../time";

/** Previous/next week links that keep the week in the URL (`?week=YYYY-MM-DD`, its Monday). */
export function WeekNav({ weekStart, basePath }: { weekStart: Date; basePath: string }) {
  const weekEnd = addDays(weekStart, 6);
  return (
    <nav className="week-nav" aria-label="Week">
      <Link to={`${basePath}?week=${isoDate(addDays(weekStart, -7))}`}>← Previous week</Link>
      <p aria-live="polite">
        <strong>
          {formatDay(weekStart)} – {formatDay(weekEnd)}
        </strong>
        <br />
        <span className="muted">Times in your time zone, {localTimeZone()}</span>
      </p>
      <Link to={`${basePath}?week=${isoDate(addDays(weekStart, 7))}`}>Next week →</Link>
    </nav>
  );
}
