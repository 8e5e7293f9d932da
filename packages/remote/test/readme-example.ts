import { createPool } from "@snakepit/core";
import { remoteProfile } from "@snakepit/remote";

export async function addOnRemoteWorkers(endpoints: string[], token: string): Promise<number> {
  const pool = await createPool({
    // On Kubernetes: endpoints: { dns: "snakepit-workers.default.svc.cluster.local:50051" }
    profile: remoteProfile({ endpoints, token }),
    size: endpoints.length, // one pool worker per host
    python: { adapter: "snakepit_bridge.adapters.showcase:ShowcaseAdapter" },
  });
  try {
    return await pool.execute<number>("add", { a: 40, b: 2 });
  } finally {
    await pool.close();
  }
}
