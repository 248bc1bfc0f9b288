import data from "./examples.json";

/**
 * The docs page's examples, typed. They live in examples.json so that DocsExamplesTest (Java) runs every curl
 * example against a live gateway: a wrong example fails the build.
 */
export type Language = "curl" | "python" | "node" | "java" | "go";

export interface DocSection {
  id: string;
  title: string;
  intro: string;
  code: Record<Language, string>;
  /** [status, code, meaning] rows (the errors section). */
  notes?: [string, string, string][];
  curl_expect: string[];
}

export const LANGUAGES = data.languages as [Language, string][];
export const SECTIONS = data.sections as DocSection[];

/** The placeholder the examples use for this site's address. */
export const BASE_URL_PLACEHOLDER = "https://your-gateway.example";

/** An example as shown on this site: its real address instead of the placeholder. */
export function forSite(code: string, origin: string): string {
  return code.replaceAll(BASE_URL_PLACEHOLDER, origin);
}
