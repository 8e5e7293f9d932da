// The CLI tests run the built bin as a user does (`node dist/cli.js`): compile it
// first so it is current. Core and compat come from their own dist (pnpm run build).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const root = fileURLToPath(new URL("../../../", import.meta.url));
  for (const dep of ["core", "compat"]) {
    if (!existsSync(`${root}packages/${dep}/dist/index.js`)) {
      throw new Error(`packages/${dep}/dist is missing: run \`pnpm run build\` (or \`pnpm run setup\`) first`);
    }
  }
  execFileSync(`${root}node_modules/.bin/tsc`, ["-p", "packages/diagnostics/tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}
