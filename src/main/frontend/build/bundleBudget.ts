import { gzipSync } from "node:zlib";

/** The part of a Rollup output chunk the budget needs (kept small so tests can build one by hand). */
export interface ChunkInfo {
  fileName: string;
  code: string;
  isEntry: boolean;
  facadeModuleId: string | null;
  imports: string[];
}

export interface RouteSize {
  files: string[];
  gzipBytes: number;
}

/**
 * What a first visit to a route downloads before it renders: the entry chunk, the route's own lazy chunk, and
 * every chunk either of them imports statically (Vite preloads those in parallel).
 */
export function routeJs(chunks: ChunkInfo[], routeModule: string): RouteSize {
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  const roots = chunks.filter((c) => c.isEntry || c.facadeModuleId?.replaceAll("\\", "/").endsWith(routeModule));
  if (!roots.some((c) => !c.isEntry)) {
    throw new Error(`no chunk for the route module ${routeModule}: is it still loaded with lazy()?`);
  }
  const seen = new Set<string>();
  const visit = (name: string) => {
    if (seen.has(name)) return;
    seen.add(name);
    byName.get(name)?.imports.forEach(visit);
  };
  roots.forEach((c) => visit(c.fileName));
  const files = [...seen].sort();
  const gzipBytes = files.reduce((sum, f) => sum + gzipSize(byName.get(f)?.code ?? ""), 0);
  return { files, gzipBytes };
}

export function gzipSize(text: string | Uint8Array): number {
  return gzipSync(text, { level: 9 }).length;
}

export function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1) + " KB";
}
