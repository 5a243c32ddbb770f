import type { ReactNode } from "react";
import { TableRegion } from "./page";

export interface Column<Row> {
  /** The column's header, and each cell's `data-label` (a narrow screen shows it above the value). */
  header: string;
  cell: (row: Row) => ReactNode;
  className?: string;
}

/** Attributes a row carries for the tests and tools that find it, e.g. `data-booking-id`. */
export type RowAttributes = Record<`data-${string}`, string>;

/**
 * A table of rows (keyed by their ids), one column per field, in a scrolling region named `label`
 * (see TableRegion); every cell is labelled with its column's header for the narrow-screen layout.
 */
export function DataTable<Row extends { id: string }>({
  label,
  rows,
  columns,
  rowAttributes,
}: {
  label: string;
  rows: readonly Row[];
  columns: readonly (Column<Row> | false)[];
  rowAttributes?: (row: Row) => RowAttributes;
}) {
  // `false` leaves a column out (a column shown only in some uses of a table).
  const shown = columns.filter((c): c is Column<Row> => c !== false);
  return (
    <TableRegion label={label}>
      <table>
        <thead>
          <tr>
            {shown.map((c) => (
              <th key={c.header} scope="col">
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.id} {...rowAttributes?.(row)}>
              {shown.map((c) => (
                <td key={c.header} data-label={c.header} className={c.className}>
                  {c.cell(row)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableRegion>
  );
}
