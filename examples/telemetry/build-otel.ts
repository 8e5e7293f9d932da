// The example imports @snakepit/otel as a user does, from its dist: compile it first.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export default function setup(): void {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  execFileSync(`${root}node_modules/.bin/tsc`, ["-p", "packages/otel/tsconfig.build.json"], { cwd: root, stdio: "inherit" });
}
