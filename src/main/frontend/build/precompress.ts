import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

/** Types worth compressing; images and fonts are compressed already. */
const COMPRESSIBLE = /\.(js|mjs|css|svg|json|txt|map|webmanifest|xml|ico)$/;

export interface ServedFile {
  path: string;
  gzip: boolean;
  br: boolean;
}

/**
 * Writes name.gz and name.br next to every compressible file (when that saves bytes) and returns the list of
 * files the server may serve. index.html is left out: the server answers it itself, with a fresh CSP nonce.
 */
export function precompress(outDir: string): ServedFile[] {
  const served: ServedFile[] = [];
  for (const file of walk(outDir)) {
    const path = relative(outDir, file).replaceAll("\\", "/");
    if (path === "index.html" || path === "files.json" || /\.(gz|br)$/.test(path)) continue;
    const entry: ServedFile = { path, gzip: false, br: false };
    if (COMPRESSIBLE.test(path)) {
      const raw = readFileSync(file);
      const gz = gzipSync(raw, { level: 9 });
      const br = brotliCompressSync(raw, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
      });
      if (gz.length < raw.length) {
        writeFileSync(file + ".gz", gz);
        entry.gzip = true;
      }
      if (br.length < raw.length) {
        writeFileSync(file + ".br", br);
        entry.br = true;
      }
    }
    served.push(entry);
  }
  served.sort((a, b) => a.path.localeCompare(b.path));
  writeFileSync(join(outDir, "files.json"), JSON.stringify({ files: served }, null, 1) + "\n");
  return served;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}
