import type { Plugin } from "vite";
import { type ChunkInfo, gzipSize, kb, routeJs } from "./bundleBudget";
import { precompress } from "./precompress";

interface Options {
  /** The landing page's module (relative to the app root), lazily imported by the router. */
  landingModule: string;
  budgetBytes: number;
}

/**
 * Prints every chunk's gzip size, fails the build when the landing route's JavaScript is over budget, and
 * precompresses the output (gzip and brotli) so the server never compresses on the fly.
 */
export function webBuild({ landingModule, budgetBytes }: Options): Plugin {
  let outDir = "";
  return {
    name: "gpt-api-web-build",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    generateBundle(_options, bundle) {
      const chunks: ChunkInfo[] = Object.values(bundle).flatMap((o) =>
        o.type === "chunk"
          ? [{ fileName: o.fileName, code: o.code, isEntry: o.isEntry, facadeModuleId: o.facadeModuleId, imports: o.imports }]
          : [],
      );
      const rows = chunks
        .map((c) => ({ file: c.fileName, gzip: gzipSize(c.code) }))
        .sort((a, b) => b.gzip - a.gzip);
      console.log("JavaScript chunks (gzip):\n" + rows.map((r) => `  ${kb(r.gzip).padStart(9)}  ${r.file}`).join("\n"));
      const landing = routeJs(chunks, landingModule);
      const line = `landing route JavaScript: ${kb(landing.gzipBytes)} gzip of ${kb(budgetBytes)} budget (${landing.files.length} files)`;
      if (landing.gzipBytes > budgetBytes) {
        this.error(line + " — over budget: split more of it into lazy routes\n  " + landing.files.join("\n  "));
      }
      console.log(line);
    },
    closeBundle() {
      const files = precompress(outDir);
      console.log(`precompressed ${files.filter((f) => f.br).length} files (gzip + brotli) in ${outDir}`);
    },
  };
}
