/**
 * Helpers that every package's options validation shares, so that all of them
 * report every problem at once, in the same words: a path, a message a person can
 * act on, a "did you mean" for a misspelt key, and one invalid_config error.
 */
import { closeMatches } from "./did-you-mean.js";
import { SnakepitError, type ConfigIssue } from "./errors.js";

/**
 * The part of a schema library's issue these helpers read. Structural, so that zod
 * (which core and lifecycle validate with) stays out of core's public types.
 */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** For `unrecognized_keys`: the keys that are not options. */
  readonly keys?: readonly string[];
}

/** `unknown option 'sizee' (did you mean 'size'?)` at `path`, the hint only when a known key is close. */
export function unknownOptionIssue(path: string, key: string, known: Iterable<string>): ConfigIssue {
  const hint = closeMatches(key, known)[0];
  return { path, message: `unknown option '${key}'${hint === undefined ? "" : ` (did you mean '${hint}'?)`}` };
}

/**
 * A schema's issues as ours: paths dotted under `prefix` (`pools.api.size`), one issue
 * per unknown key with a hint from `knownKeys(path of the object)`.
 */
export function schemaIssues(
  issues: readonly SchemaIssue[],
  prefix: string,
  knownKeys: (objectPath: readonly PropertyKey[]) => Iterable<string>,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    if (issue.code === "unrecognized_keys" && issue.keys) {
      const known = [...knownKeys(issue.path)];
      for (const key of issue.keys) out.push(unknownOptionIssue(path ? `${path}.${key}` : key, key, known));
    } else {
      out.push({ path: path || "(root)", message: issue.message });
    }
  }
  return out;
}

export function formatIssues(what: string, issues: readonly ConfigIssue[]): string {
  const lines = issues.map((i) => `  - ${i.path}: ${i.message}`);
  return `invalid ${what} (${issues.length} problem${issues.length === 1 ? "" : "s"}):\n${lines.join("\n")}`;
}

/** The invalid_config error naming every problem: `invalid lifecycle options (2 problems): ...`. */
export function invalidConfigError(what: string, issues: readonly ConfigIssue[]): SnakepitError {
  return new SnakepitError("invalid_config", formatIssues(what, issues), { issues });
}
