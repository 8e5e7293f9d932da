// Does an addon that maps a segment earn its keep? Node without one reads a result
// segment with read(2) into fresh memory (what the pool does); with one it maps it.
// Builds shm_map.c with the C compiler against Node's own headers (no node-gyp) into
// a temporary directory, then times both for a 64 MiB segment, touching every page.
//
//   node bench/shm-addon/measure.mjs
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const include = join(dirname(dirname(process.execPath)), "include", "node");
const dir = mkdtempSync(join(tmpdir(), "snakepit-addon-"));
const N = 64 * 1024 * 1024;
const path = `/dev/shm/snakepit-addon-probe-${process.pid}`;
try {
  const lib = join(dir, "shm_map.node");
  execFileSync("cc", ["-O2", "-shared", "-fPIC", `-I${include}`, join(here, "shm_map.c"), "-o", lib], { stdio: "inherit" });
  const { mapFile } = createRequire(import.meta.url)(lib);
  const src = new Float32Array(N / 4).map((_, i) => i);
  const readCopy = () => {
    const fd = openSync(path, "r");
    const out = new Uint8Array(new ArrayBuffer(N));
    for (let done = 0; done < N; ) done += readSync(fd, out, done, N - done, done);
    closeSync(fd);
    return out.buffer;
  };
  for (const [name, take] of [["read(2) into fresh memory (the pool today)", readCopy], ["mmap through the addon", () => mapFile(path, N)]]) {
    const times = [];
    for (let i = 0; i < 12; i++) {
      writeFileSync(path, src);
      const t = performance.now();
      const view = new Float32Array(take());
      unlinkSync(path);
      let sum = 0;
      for (let j = 0; j < view.length; j += 1024) sum += view[j]; // every 4 KiB page
      times.push(performance.now() - t);
      if (sum < 0) throw new Error("unreachable");
    }
    times.sort((a, b) => a - b);
    console.log(`${name}: p50 ${times[6].toFixed(1)} ms for 64 MiB`);
  }
} finally {
  rmSync(path, { force: true });
  rmSync(dir, { recursive: true, force: true });
}
