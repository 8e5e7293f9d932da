import { fileURLToPath } from "node:url";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Tests import @snakepit/* the way users do; these aliases point them at src. */
export const snakepitAliases = {
  // Before "@snakepit/core": an alias also matches what starts with it and a slash.
  "@snakepit/core/profile": here("./packages/core/src/profile.ts"),
  "@snakepit/core": here("./packages/core/src/index.ts"),
  "@snakepit/lifecycle": here("./packages/lifecycle/src/index.ts"),
  "@snakepit/diagnostics": here("./packages/diagnostics/src/index.ts"),
  "@snakepit/compat": here("./packages/compat/src/index.ts"),
  "@snakepit/otel": here("./packages/otel/src/index.ts"),
};

export const repoRoot = here("./");
