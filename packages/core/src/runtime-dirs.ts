/**
 * The pools' private socket directories. A pool removes its own at close; this
 * also removes them when Node exits without closing its pools (process.exit, an
 * uncaught exception), so no socket directory outlives the process. (After
 * SIGKILL nothing in the process runs; the workers still exit, see worker-process.ts.)
 */
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const live = new Set<string>();
let hooked = false;

function removeAllNow(): void {
  for (const dir of live) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      /* best effort while exiting */
    }
  }
  live.clear();
}

/** A new private (0700) directory for one pool's sockets. */
export async function createRuntimeDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "snakepit-"));
  live.add(dir);
  if (!hooked) {
    hooked = true;
    process.once("exit", removeAllNow);
  }
  return dir;
}

export async function removeRuntimeDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true });
}
