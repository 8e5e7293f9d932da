#!/usr/bin/env node
// prepack: copies the Python bridge's pure-Python source (python/ at the repository
// root: pyproject.toml, README.md, LICENSE, src/snakepit_bridge) into
// packages/core/python, so the @snakepit/core tarball carries it and
// `snakepit python setup` can install it. `--clean` (postpack) removes the copy.
// The copy is never committed (.gitignore): the repository's python/ is the source.
import { cpSync, existsSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");
const from = join(pkg, "..", "..", "python");
const to = join(pkg, "python");

rmSync(to, { recursive: true, force: true });
if (process.argv.includes("--clean")) process.exit(0);

for (const f of ["pyproject.toml", "README.md", "LICENSE", "src/snakepit_bridge"]) {
  if (!existsSync(join(from, f))) throw new Error(`copy-python-bridge: ${join(from, f)} is missing`);
}
for (const f of ["pyproject.toml", "README.md", "LICENSE"]) cpSync(join(from, f), join(to, f));
cpSync(join(from, "src", "snakepit_bridge"), join(to, "src", "snakepit_bridge"), {
  recursive: true,
  filter: (p) => basename(p) !== "__pycache__" && !p.endsWith(".pyc"),
});
console.log(`copy-python-bridge: ${from} -> ${to}`);
