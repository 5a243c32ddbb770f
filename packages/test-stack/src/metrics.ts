/** A service's /metrics page, in Prometheus' text format. */
export async function scrapeMetrics(metricsPort: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  return res.text();
}

/** Every sample of `name` carrying (at least) these labels, from the text format, in page order. */
function samples(text: string, name: string, labels: Record<string, string>): number[] {
  const values: number[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const series = new Map([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(labels).every(([k, v]) => series.get(k) === v)) values.push(Number(match[3]));
  }
  return values;
}

/** The value of the first sample of `name` carrying (at least) these labels (undefined if none). */
export const metricSample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined =>
  samples(text, name, labels)[0];

/** The sum of a Prometheus counter's series matching `labels`, scraped from a service's /metrics. */
export async function metricValue(metricsPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return samples(await scrapeMetrics(metricsPort), name, labels).reduce((sum, v) => sum + v, 0);
}

/** `cache_requests_total{cache, result}` of a service. */
export const cacheRequests = (metricsPort: number, cache: string, result: "hit" | "miss" | "error"): Promise<number> =>
  metricValue(metricsPort, "cache_requests_total", { cache, result });
