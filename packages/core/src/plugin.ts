/**
 * Core's seam for extensions (lifecycle, telemetry, ...). A plugin is attached
 * once, when the pool is created, and detached when it closes. It works through
 * the pool's public API and the events on node:diagnostics_channel.
 */
import type { Pool } from "./pool-types.js";

export interface PoolPlugin {
  readonly name: string;
  /** Called once the pool's workers are ready. May return a function run at close. */
  attach(pool: Pool): void | (() => void | Promise<void>);
}
