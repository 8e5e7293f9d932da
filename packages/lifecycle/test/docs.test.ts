import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { resolveLifecycleOptions } from "@snakepit/lifecycle";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const guide = readFileSync(new URL("../../../docs/recycling.md", import.meta.url), "utf8");
const options = Object.keys(resolveLifecycleOptions({}));

describe("the docs", () => {
  it.each([
    ["README.md", readme],
    ["docs/recycling.md", guide],
  ])("%s has a row for every option", (_, text) => {
    for (const key of options) expect(text, key).toContain(`| \`${key}\` |`);
  });

  it("state the defaults the code uses", () => {
    const d = resolveLifecycleOptions({});
    for (const text of [readme, guide]) {
      expect(text).toMatch(new RegExp(`\\| \`healthIntervalMs\` \\| \`${d.healthIntervalMs}\` \\|`));
      expect(text).toMatch(new RegExp(`\\| \`maxHealthMisses\` \\| \`${d.maxHealthMisses}\` \\|`));
      expect(text).toMatch(new RegExp(`\\| \`restartBackoffMs\` \\| \`${d.restartBackoffMs}\` \\|`));
      expect(text).toMatch(new RegExp(`\\| \`restartBackoffMaxMs\` \\| \`${d.restartBackoffMaxMs}\` \\|`));
      expect(text).toMatch(new RegExp(`\\| \`maxStartFailures\` \\| \`${d.maxStartFailures}\` \\|`));
      expect(text).toMatch(/\| `memoryMode` \| `"growth"` \|/);
    }
  });

  it("the guide maps every gunicorn, Celery and uWSGI option the issue names", () => {
    for (const name of [
      "max_requests",
      "max_requests_jitter",
      "timeout",
      "graceful_timeout",
      "worker_max_tasks_per_child",
      "worker_max_memory_per_child",
      "task_time_limit",
      "max-requests",
      "max-worker-lifetime",
      "reload-on-rss",
      "harakiri",
    ]) {
      expect(guide).toContain(`\`${name}\``);
    }
  });
});
