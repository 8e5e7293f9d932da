/**
 * @snakepit/compat is an optional peer dependency: loaded on demand with a guarded
 * dynamic import, and `undefined` when it is not installed.
 */
export type CompatModule = typeof import("@snakepit/compat");

let loader: () => Promise<CompatModule> = () => import("@snakepit/compat");

export async function loadCompat(): Promise<CompatModule | undefined> {
  try {
    return await loader();
  } catch (err) {
    if (isModuleNotFound(err)) return undefined;
    throw err;
  }
}

/** Tests only: replace the loader (e.g. to act as if compat were not installed); returns the undo. */
export function setCompatLoader(next: () => Promise<CompatModule>): () => void {
  const previous = loader;
  loader = next;
  return () => {
    loader = previous;
  };
}

export function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND";
}
