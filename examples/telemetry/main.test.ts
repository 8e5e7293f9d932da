import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, it } from "vitest";

/** "├─ name  (tags)" lines of the printed tree, with their depth. */
function treeLines(stdout: string): Array<{ depth: number; name: string; tags: string }> {
  const out: Array<{ depth: number; name: string; tags: string }> = [];
  for (const line of stdout.split("\n")) {
    const m = /^((?:│  |   )*)[├└]─ (\S+(?: \S+)?)  \((.*)\)$/.exec(line);
    if (m) out.push({ depth: m[1]!.length / 3, name: m[2]!, tags: m[3]! });
  }
  return out;
}

/** The names directly under the line at `index`. */
function childrenOf(lines: ReturnType<typeof treeLines>, index: number): string[] {
  const depth = lines[index]!.depth;
  const names: string[] = [];
  for (let i = index + 1; i < lines.length && lines[i]!.depth > depth; i++) if (lines[i]!.depth === depth + 1) names.push(lines[i]!.name);
  return names;
}

// The demo runs as a user runs it: `node main.mjs`, against the built packages.
it("prints one trace from the Node request span down to the spans inside the Python tools", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ["main.mjs"], { cwd: import.meta.dirname, timeout: 60_000 });
  expect(stdout).toContain('word_count = 9, summarize = "the quick brown fox"');
  expect(stdout).toContain("word_count(42) failed: python_error AttributeError");
  expect(stdout).toMatch(/^trace [0-9a-f]{32}$/m);
  const lines = treeLines(stdout);
  expect(lines[0]).toMatchObject({ depth: 0, name: "handle-request" });
  expect(lines.filter((l) => l.depth === 0)).toHaveLength(1);
  expect(childrenOf(lines, 0).sort()).toEqual(
    ["snakepit.execute summarize", "snakepit.execute word_count", "snakepit.execute word_count", "snakepit.stream chunks"].sort(),
  );
  const summarize = lines.findIndex((l) => l.name === "snakepit.execute summarize");
  expect(lines[summarize]!.tags).toMatch(/node client, [\d.]+ ms, worker=default\/w1 wait=[\d.]+ms/);
  expect(childrenOf(lines, summarize)).toEqual(["snakepit.tool summarize"]);
  expect(lines[summarize + 1]!.tags).toMatch(/^python server/);
  expect(childrenOf(lines, summarize + 1)).toEqual(["tokenize", "score"]);
  const stream = lines.findIndex((l) => l.name === "snakepit.stream chunks");
  expect(childrenOf(lines, stream + 1)).toEqual(["chunk", "chunk", "chunk"]);
  const failed = lines.find((l) => l.name === "snakepit.execute word_count" && l.tags.includes("ERROR"));
  expect(failed?.tags).toContain("ERROR python_error");
});
