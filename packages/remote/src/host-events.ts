/** What the profile reports about its hosts. */
export type HostState = "free" | "reserved" | "in_use" | "ejected";

/** What `profile.hosts()` reports about each host. */
export interface RemoteHostSnapshot {
  readonly address: string;
  readonly state: HostState;
  /** The endpoint it came from: "host:port", or the DNS name it was discovered by. */
  readonly source: string;
  /** Workers of the pool on it (1; 2 while one is being recycled). */
  readonly workers: number;
  /** Why it was last ejected. */
  readonly lastError?: string;
  /** Failed probes since it was ejected. */
  readonly failures: number;
  /** When it was ejected (Date.now()), while it is. */
  readonly ejectedAt?: number;
  /** No longer in DNS: it leaves once its worker has drained. */
  readonly removed: boolean;
}

/** Reported to `onHostChange`, for logs, dashboards and benchmarks. */
export interface RemoteHostEvent {
  readonly type: "added" | "ejected" | "readmitted" | "removed";
  readonly address: string;
  readonly reason?: string;
  readonly at: number;
}
