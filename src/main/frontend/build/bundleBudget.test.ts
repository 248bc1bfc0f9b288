import { describe, expect, it } from "vitest";
import { type ChunkInfo, gzipSize, routeJs } from "./bundleBudget";

const chunk = (fileName: string, imports: string[] = [], extra: Partial<ChunkInfo> = {}): ChunkInfo => ({
  fileName,
  code: `/* ${fileName} */ ` + "x".repeat(100),
  isEntry: false,
  facadeModuleId: null,
  imports,
  ...extra,
});

describe("routeJs", () => {
  const chunks = [
    chunk("index.js", ["vendor.js"], { isEntry: true }),
    chunk("vendor.js"),
    chunk("Landing.js", ["shared.js"], { facadeModuleId: "/app/src/pages/landing/LandingPage.tsx" }),
    chunk("shared.js"),
    chunk("Dashboard.js", ["charts.js"], { facadeModuleId: "/app/src/pages/dashboard/DashboardPage.tsx" }),
    chunk("charts.js"),
  ];

  it("counts the entry, the route's chunk and their static imports, not other routes", () => {
    const size = routeJs(chunks, "src/pages/landing/LandingPage.tsx");
    expect(size.files).toEqual(["Landing.js", "index.js", "shared.js", "vendor.js"]);
    const expected = ["Landing.js", "index.js", "shared.js", "vendor.js"]
      .map((f) => gzipSize(chunks.find((c) => c.fileName === f)!.code))
      .reduce((a, b) => a + b);
    expect(size.gzipBytes).toBe(expected);
  });

  it("fails loudly when the route is no longer a lazy chunk", () => {
    expect(() => routeJs(chunks, "src/pages/Missing.tsx")).toThrow(/no chunk for the route module/);
  });
});
