import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { allDoctors } from "../api/queries";
import { LoadState, Page } from "../components/page";
import { useLoad } from "../hooks";

/** Find a doctor by specialization and name; the search is in the URL, so it can be shared. */
export function DoctorsPage() {
  const [params, setParams] = useSearchParams();
  const specialization = params.get("specialization") ?? "";
  const q = params.get("q") ?? "";
  const [draft, setDraft] = useState({ specialization, q });
  const doctors = useLoad(() => allDoctors({ specialization: specialization.trim().toLowerCase(), q: q.trim() }), [specialization, q]);

  const search = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (draft.specialization.trim()) next.set("specialization", draft.specialization.trim());
    if (draft.q.trim()) next.set("q", draft.q.trim());
    setParams(next);
  };

  const list = doctors.data ?? [];
  return (
    <Page title="Find a doctor">
      <form className="card form search" role="search" onSubmit={search}>
        <div>
          <label htmlFor="search-specialization">Specialization</label>
          <input
            id="search-specialization"
            placeholder="e.g. cardiology"
            value={draft.specialization}
            onChange={(e) => setDraft({ ...draft, specialization: e.target.value })}
          />
        </div>
        <div>
          <label htmlFor="search-name">Name</label>
          <input id="search-name" placeholder="e.g. Byron" value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} />
        </div>
        <button type="submit">Search</button>
      </form>
      <LoadState loading={doctors.loading && !doctors.data} error={doctors.error} empty={!doctors.loading && list.length === 0 && "No doctor matches."} />
      {list.length > 0 ? (
        <>
          <p className="muted" role="status">
            {list.length === 1 ? "1 doctor" : `${list.length} doctors`}
          </p>
          <ul className="cards">
            {list.map((doctor) => (
              <li key={doctor.id} className="card">
                <h2>
                  <Link to={`/doctors/${doctor.id}`}>{doctor.name}</Link>
                </h2>
                <p className="muted">{doctor.specialization}</p>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </Page>
  );
}
