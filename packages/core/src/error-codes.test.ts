// The one list of error codes (proto/snakepit/worker/v1/error_codes.json) against
// everything that names codes: core's list, the Python worker's constants, and the
// tables and lists in the docs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { SNAKEPIT_ERROR_CODES } from "./errors.js";

interface SourceCode {
  readonly code: string;
  readonly package: string;
  readonly sentByWorker: boolean;
}
interface Generator {
  readonly ROOT: string;
  readonly SOURCE: string;
  readErrorCodes(root?: string): SourceCode[];
  readonly OUTPUTS: readonly { path: string; render(codes: SourceCode[], current: string): string }[];
}

const generator = (await import(pathToFileURL(join(import.meta.dirname, "../../../scripts/generate-error-codes.mjs")).href)) as Generator;
const codes = generator.readErrorCodes();
const read = (path: string) => readFileSync(join(generator.ROOT, path), "utf8");
const names = (filter: (c: SourceCode) => boolean = () => true) => codes.filter(filter).map((c) => c.code);

/** The codes in the first column of the generated table of a markdown file. */
function tableCodes(markdown: string): string[] {
  const table = markdown.slice(markdown.indexOf("<!-- error-codes:begin"), markdown.indexOf("<!-- error-codes:end"));
  return [...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]!);
}

describe("the one list of error codes", () => {
  it("is core's SNAKEPIT_ERROR_CODES, in order", () => {
    expect([...SNAKEPIT_ERROR_CODES]).toEqual(names());
  });

  it("gives the Python worker a constant for each code it sends, and no other", () => {
    const python = read("python/src/snakepit_bridge/_proto/error_codes.py");
    const constants = [...python.matchAll(/^([A-Z_]+) = "([a-z_]+)"$/gm)].map((m) => [m[1], m[2]]);
    const sent = names((c) => c.sentByWorker);
    expect(constants).toEqual(sent.map((c) => [c.toUpperCase(), c]));
    expect(python).toMatch(new RegExp(`WORKER_ERROR_CODES = \\(\\n${sent.map((c) => `    ${c.toUpperCase()},\\n`).join("")}\\)`));
  });

  it("is listed exactly in the table of docs/errors.md, and compat's codes in compat's README", () => {
    expect(tableCodes(read("docs/errors.md"))).toEqual(names());
    expect(tableCodes(read("packages/compat/README.md"))).toEqual(names((c) => c.package === "@snakepit/compat"));
  });

  it("has every generated file up to date (else: pnpm run generate)", () => {
    for (const { path, render } of generator.OUTPUTS) {
      const current = read(path);
      expect(render(codes, current), path).toBe(current);
    }
  });

  it("matches the hand-written lists: the worker's README table and core's README", () => {
    const pythonErrors = read("python/README.md").split("## Errors")[1]!.split("\n## ")[0]!;
    expect(new Set([...pythonErrors.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]))).toEqual(new Set(names((c) => c.sentByWorker)));
    const coreErrors = read("packages/core/README.md").split("## Errors")[1]!.split("\n## ")[0]!;
    expect(new Set([...coreErrors.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]))).toEqual(new Set(names((c) => c.package === "@snakepit/core")));
  });

  it("refuses a list with a code twice or a row the tables cannot hold", () => {
    const root = mkdtempSync(join(tmpdir(), "snakepit-codes-"));
    try {
      const write = (codes: unknown[]) => {
        mkdirSync(dirname(join(root, generator.SOURCE)), { recursive: true });
        writeFileSync(join(root, generator.SOURCE), JSON.stringify({ codes }));
      };
      const row = { code: "queue_full", package: "@snakepit/core", sentByWorker: false, when: "w", action: "a" };
      write([row, row]);
      expect(() => generator.readErrorCodes(root)).toThrow("queue_full is listed twice");
      write([{ ...row, when: "a | b" }]);
      expect(() => generator.readErrorCodes(root)).toThrow("queue_full.when must be one line");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
