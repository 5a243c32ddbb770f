/** How values are stored in Redis. An encoding must never start with the tombstone prefix (`key-layout.ts`). */
export interface Codec<T> {
  encode(value: T): string;
  decode(text: string): T;
}

/** JSON where Dates survive the round trip (as `{"$date": iso}`, so no string is ever mistaken for one). */
export function jsonCodec<T>(): Codec<T> {
  return {
    encode: (value) =>
      JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
        // `this[key]` is the raw value; `v` is Date#toJSON's string by now.
        const raw = this[key];
        return raw instanceof Date ? { $date: raw.toISOString() } : v;
      }),
    decode: (text) =>
      JSON.parse(text, (_key, v: unknown) => {
        if (v !== null && typeof v === "object" && !Array.isArray(v)) {
          const keys = Object.keys(v);
          const date = (v as { $date?: unknown }).$date;
          if (keys.length === 1 && typeof date === "string") return new Date(date);
        }
        return v;
      }) as T,
  };
}
