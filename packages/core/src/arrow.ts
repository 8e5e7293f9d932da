/**
 * Apache Arrow tables as values: an `apache-arrow` Table travels as one
 * attachment holding an Arrow IPC stream, behind {"$snakepit:arrow": N}; Python
 * receives a pyarrow.Table, and a pyarrow.Table returned comes back as a Table.
 *
 * `apache-arrow` is an optional peer dependency, loaded (synchronously, once) only
 * when a Table is sent or one arrives. It must be the very copy the application
 * uses: a Table of one copy of the library is not a Table to another (its writer
 * then writes a broken stream), so the copy is picked by the value's class.
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { SnakepitError } from "./errors.js";

export const ARROW_TAG = "$snakepit:arrow";

/** The little of apache-arrow used here. */
interface ArrowModule {
  Table: abstract new (...args: never[]) => object;
  tableToIPC(table: object, type: "stream"): Uint8Array;
  tableFromIPC(bytes: Uint8Array): object;
}

const INSTALL_HINT = "install it next to @snakepit/core (npm install apache-arrow)";
const require = createRequire(import.meta.url);

/** `load()` once: the module, or null when it cannot be loaded (remembered either way). */
function once(load: () => unknown): () => ArrowModule | null {
  let module: ArrowModule | null | undefined;
  return () => {
    if (module === undefined) {
      try {
        module = load() as ArrowModule;
      } catch {
        module = null;
      }
    }
    return module;
  };
}

/** The ES-module copy (what `import "apache-arrow"` gives the application). */
const esmCopy = once(() => require(fileURLToPath(import.meta.resolve("apache-arrow"))));
/** The CommonJS copy (what `require("apache-arrow")` gives). */
const cjsCopy = once(() => require("apache-arrow"));

/** True for what can only be an apache-arrow Table, without loading the library. */
export function looksLikeArrowTable(value: object): boolean {
  const v = value as { constructor?: { name?: unknown }; schema?: unknown; batches?: unknown };
  return v.constructor?.name === "Table" && typeof v.schema === "object" && v.schema !== null && Array.isArray(v.batches);
}

/** A Table as an Arrow IPC stream; throws with the reason when the table cannot be written here. */
export function arrowTableToIPC(table: object): Uint8Array {
  for (const copy of [esmCopy(), cjsCopy()]) {
    if (copy && table instanceof copy.Table) return copy.tableToIPC(table, "stream");
  }
  if (!esmCopy() && !cjsCopy()) throw new Error(`sending an Arrow Table needs apache-arrow, which @snakepit/core cannot load: ${INSTALL_HINT}`);
  throw new Error("this Table comes from a copy of apache-arrow other than the one @snakepit/core loads; install one copy (npm dedupe)");
}

/** The Table in attachment `index` (an Arrow IPC stream). */
export function decodeArrowTable(index: unknown, attachments: readonly Uint8Array[]): unknown {
  const bytes = typeof index === "number" ? attachments[index] : undefined;
  if (bytes === undefined) throw new SnakepitError("internal", `worker sent an Arrow table in missing attachment ${String(index)}`);
  const copy = esmCopy() ?? cjsCopy();
  if (!copy) throw new SnakepitError("internal", `the tool returned an Arrow table, and reading it needs apache-arrow: ${INSTALL_HINT}`);
  try {
    return copy.tableFromIPC(bytes);
  } catch (err) {
    throw new SnakepitError("internal", `worker sent an Arrow table that apache-arrow cannot read: ${(err as Error).message}`, { cause: err });
  }
}
