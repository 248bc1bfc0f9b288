import { cn } from "@/lib/utils";
import { LEVEL_BG, LEVEL_TEXT, type Level } from "./status";

/** A coloured dot and the level in words (colour is never the only signal). */
export function LevelBadge({ level, className }: { level: Level; className?: string }) {
  return (
    <span className={cn("inline-flex items-center gap-1.5 text-sm font-medium", className)}>
      <span aria-hidden className={cn("size-2.5 rounded-full", LEVEL_BG[level])} />
      {LEVEL_TEXT[level]}
    </span>
  );
}
