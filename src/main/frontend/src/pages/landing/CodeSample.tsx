import { CheckIcon, CopyIcon } from "lucide-react";
import { useState } from "react";
import { Button } from "@/components/ui/button";

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Button
      variant="ghost"
      size="sm"
      aria-label={label}
      onClick={() =>
        navigator.clipboard.writeText(text).then(() => {
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        })
      }
    >
      {copied ? <CheckIcon /> : <CopyIcon />}
      <span className="sr-only sm:not-sr-only">{copied ? "Copied" : "Copy"}</span>
    </Button>
  );
}

/** A code block whose changed line is marked, with a copy button. */
export function CodeSample({ code, highlight, title }: { code: string; highlight: string; title: string }) {
  return (
    <figure className="bg-card min-w-0 overflow-hidden rounded-xl border shadow-sm">
      <figcaption className="text-muted-foreground flex items-center justify-between border-b px-4 py-1 text-xs">
        {title}
        <CopyButton text={code} label={`Copy the ${title} sample`} />
      </figcaption>
      <pre tabIndex={0} className="overflow-x-auto p-4 text-[13px] leading-relaxed">
        <code>
          {code.split("\n").map((line, i) => (
            <span key={i} className={line.includes(highlight) ? "bg-primary/15 -mx-4 block px-4" : "block"}>
              {line || " "}
            </span>
          ))}
        </code>
      </pre>
    </figure>
  );
}
