import type { Registry } from "prom-client";
import { createLogger, type Logger, type LoggerSettings } from "../logging/logger";
import { createServiceMetrics, type ServiceMetrics } from "../metrics/metrics";
import { Lifecycle, startOrRelease } from "./lifecycle";

/**
 * What every start-up step of a service is given: its name (also its metrics' service label and
 * its database pool's), configuration, logger, the lifecycle its resources register with, and its
 * metrics. `registry` is the metrics' registry again, so the context itself can be passed where a
 * starter asks for `{ config, logger, registry, lifecycle }` (e.g. `startCache`).
 */
export interface ServiceContext<C> {
  readonly name: string;
  readonly config: C;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  readonly metrics: ServiceMetrics;
  readonly registry: Registry;
}

/**
 * The frame of every service's start-up: logger (unless the caller brings one, as tests do),
 * lifecycle and metrics, then `start`; when a step of `start` fails, whatever earlier steps
 * registered with the lifecycle is closed again before the error is passed on.
 */
export async function startService<C extends { LOG_LEVEL: LoggerSettings["level"] }, R>(
  options: { name: string; config: C; logger?: Logger | undefined },
  start: (service: ServiceContext<C>) => Promise<R>,
): Promise<R> {
  const { name, config } = options;
  const logger = options.logger ?? createLogger({ service: name, level: config.LOG_LEVEL });
  const lifecycle = new Lifecycle(logger);
  const metrics = createServiceMetrics(name);
  return startOrRelease(lifecycle, () => start({ name, config, logger, lifecycle, metrics, registry: metrics.registry }));
}
