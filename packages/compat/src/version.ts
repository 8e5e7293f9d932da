// Enough of PEP 440 to compare installed versions with a matrix minVersion:
// release numbers, then pre/post/dev markers. Local labels (+cpu) are ignored.

interface ParsedVersion {
  readonly release: readonly number[];
  /** dev < a < b < rc < final < post; ties broken by `phaseNumber`. */
  readonly phase: number;
  readonly phaseNumber: number;
}

const PHASES: Readonly<Record<string, number>> = {
  dev: 0,
  a: 1,
  alpha: 1,
  b: 2,
  beta: 2,
  c: 3,
  rc: 3,
  pre: 3,
  preview: 3,
  "": 4,
  post: 5,
  rev: 5,
  r: 5,
};

const VERSION_RE = /^v?(\d+(?:\.\d+)*)(?:[-_.]?(dev|alpha|beta|preview|pre|rc|a|b|c|post|rev|r)[-_.]?(\d*))?/i;

function parseVersion(text: string): ParsedVersion | undefined {
  const match = VERSION_RE.exec(text.trim().split("+")[0] ?? "");
  if (match === null) return undefined;
  const release = (match[1] ?? "").split(".").map(Number);
  const label = (match[2] ?? "").toLowerCase();
  return {
    release,
    phase: PHASES[label] ?? 4,
    phaseNumber: match[3] ? Number(match[3]) : 0,
  };
}

/**
 * Compares two version strings.
 *
 * @returns a negative number if `a < b`, 0 if equal, positive if `a > b`,
 *   or `undefined` when either string is not a recognisable version.
 */
export function compareVersions(a: string, b: string): number | undefined {
  const left = parseVersion(a);
  const right = parseVersion(b);
  if (left === undefined || right === undefined) return undefined;
  const length = Math.max(left.release.length, right.release.length);
  for (let i = 0; i < length; i++) {
    const diff = (left.release[i] ?? 0) - (right.release[i] ?? 0);
    if (diff !== 0) return diff;
  }
  if (left.phase !== right.phase) return left.phase - right.phase;
  return left.phaseNumber - right.phaseNumber;
}
