#!/usr/bin/env node
// Regenerates the Python protobuf/gRPC modules with the venv's grpcio-tools.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const py = join(root, "python", ".venv", "bin", "python");
if (!existsSync(py)) {
  console.error("python/.venv is missing: run `pnpm run setup` first.");
  process.exit(1);
}
execFileSync(py, [join(root, "python", "scripts", "generate_proto.py")], { stdio: "inherit" });
