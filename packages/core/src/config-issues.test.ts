import { describe, expect, it } from "vitest";
import { invalidConfigError, schemaIssues, unknownOptionIssue } from "./config-issues.js";
import { isSnakepitError } from "./errors.js";

describe("config issues", () => {
  it("names an unknown option and hints at the known one it is close to", () => {
    expect(unknownOptionIssue("lifecycle.maxRequest", "maxRequest", ["maxRequests", "ttlMs"])).toEqual({
      path: "lifecycle.maxRequest",
      message: "unknown option 'maxRequest' (did you mean 'maxRequests'?)",
    });
    expect(unknownOptionIssue("colour", "colour", ["endpoints", "token"]).message).toBe("unknown option 'colour'");
  });

  it("turns schema issues into dotted paths, one issue per unknown key with the keys known where it is", () => {
    const issues = schemaIssues(
      [
        { code: "too_small", path: ["size"], message: "size must be a positive integer" },
        { code: "unrecognized_keys", path: ["python"], message: "Unrecognized key", keys: ["exe"] },
        { code: "invalid_type", path: [], message: "options must be an object" },
      ],
      "pools.api",
      (at) => (at.at(-1) === "python" ? ["executable", "cwd"] : ["size"]),
    );
    expect(issues).toEqual([
      { path: "pools.api.size", message: "size must be a positive integer" },
      { path: "pools.api.python.exe", message: "unknown option 'exe' (did you mean 'executable'?)" },
      { path: "pools.api", message: "options must be an object" },
    ]);
    expect(schemaIssues([{ code: "invalid_type", path: [], message: "bad" }], "", () => [])).toEqual([{ path: "(root)", message: "bad" }]);
  });

  it("makes one invalid_config error that lists every problem", () => {
    const issues = [
      { path: "a", message: "is wrong" },
      { path: "b", message: "is wrong too" },
    ];
    const err = invalidConfigError("widget options", issues);
    expect(isSnakepitError(err, "invalid_config")).toBe(true);
    expect(err.message).toBe("invalid widget options (2 problems):\n  - a: is wrong\n  - b: is wrong too");
    expect(err.issues).toEqual(issues);
    expect(invalidConfigError("widget options", [issues[0]!]).message).toBe("invalid widget options (1 problem):\n  - a: is wrong");
  });
});
