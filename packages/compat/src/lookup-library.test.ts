import { describe, expect, it } from "vitest";
import { lookupLibrary, normalizeLibraryName } from "./lookup-library.js";

describe("lookupLibrary", () => {
  it("finds a library by import name and by distribution name", () => {
    expect(lookupLibrary("sklearn")?.distribution).toBe("scikit-learn");
    expect(lookupLibrary("scikit-learn")?.name).toBe("sklearn");
    expect(lookupLibrary("cv2")?.distribution).toBe("opencv-python");
    expect(lookupLibrary("opencv-python")?.name).toBe("cv2");
    expect(lookupLibrary("PIL")?.distribution).toBe("pillow");
    expect(lookupLibrary("pillow")?.name).toBe("PIL");
    expect(lookupLibrary("grpcio")?.name).toBe("grpc");
  });

  it("is case-insensitive and treats -, _ and . alike", () => {
    expect(lookupLibrary("Pillow")?.name).toBe("PIL");
    expect(lookupLibrary("pil")?.name).toBe("PIL");
    expect(lookupLibrary("Scikit_Learn")?.name).toBe("sklearn");
    expect(lookupLibrary("  NumPy ")?.name).toBe("numpy");
  });

  it("finds alternative distributions", () => {
    expect(lookupLibrary("opencv-python-headless")?.name).toBe("cv2");
    expect(lookupLibrary("psycopg2-binary")?.name).toBe("psycopg2");
    expect(lookupLibrary("faiss-gpu")?.name).toBe("faiss");
  });

  it("returns undefined for libraries outside the matrix", () => {
    expect(lookupLibrary("left-pad")).toBeUndefined();
    expect(lookupLibrary("")).toBeUndefined();
  });
});

describe("normalizeLibraryName", () => {
  it("applies PEP 503 normalisation", () => {
    expect(normalizeLibraryName("Foo.Bar__baz")).toBe("foo-bar-baz");
  });
});
