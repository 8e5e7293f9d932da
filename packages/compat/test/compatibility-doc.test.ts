import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COMPAT_MATRIX } from "@snakepit/compat";
import type { LibraryCompat } from "@snakepit/compat";

// docs/compatibility.md shows the matrix as a table; this keeps the two in step.
const doc = readFileSync(new URL("../../../docs/compatibility.md", import.meta.url), "utf8");

function row(entry: LibraryCompat): string {
  const library = entry.name === entry.distribution ? `\`${entry.name}\`` : `\`${entry.name}\` (\`${entry.distribution}\`)`;
  const gil = entry.releasesGil === true ? "yes" : entry.releasesGil === false ? "no" : "partly";
  return `| ${library} | ${entry.classification} | ${entry.minVersion ?? "-"} | ${gil} | ${entry.workaround} | [docs](${entry.source}) |`;
}

describe("docs/compatibility.md", () => {
  it.each(COMPAT_MATRIX.map((e) => [e.name, e] as const))("shows the %s row as in COMPAT_MATRIX", (_name, entry) => {
    expect(doc).toContain(row(entry));
    expect(doc).toContain(`- **${entry.name}**: ${entry.notes}`);
  });

  it("has no table rows for libraries that are not in the matrix", () => {
    const tableRows = doc.split("\n").filter((line) => line.startsWith("| `"));
    expect(tableRows).toHaveLength(COMPAT_MATRIX.length);
  });
});
