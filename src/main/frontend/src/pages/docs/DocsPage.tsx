import { BookOpenIcon, ExternalLinkIcon } from "lucide-react";
import { useState } from "react";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { CopyButton } from "@/pages/landing/CodeSample";
import { type DocSection, forSite, LANGUAGES, type Language, SECTIONS } from "./examples";

const LANGUAGE_KEY = "gptapi.docs.language";

function savedLanguage(): Language {
  try {
    const saved = localStorage.getItem(LANGUAGE_KEY);
    if (LANGUAGES.some(([id]) => id === saved)) return saved as Language;
  } catch {
    // Storage blocked: the default.
  }
  return "curl";
}

function CodeBlock({ code, title }: { code: string; title: string }) {
  return (
    <figure className="bg-card min-w-0 overflow-hidden rounded-xl border shadow-sm">
      <figcaption className="text-muted-foreground flex items-center justify-between border-b px-4 py-1 text-xs">
        {title}
        <CopyButton text={code} label={`Copy the ${title} example`} />
      </figcaption>
      {/* Focusable: a keyboard user must be able to scroll a long line into view (axe scrollable-region-focusable). */}
      <pre tabIndex={0} className="overflow-x-auto p-4 text-[13px] leading-relaxed">
        <code>{code}</code>
      </pre>
    </figure>
  );
}

function Section({ section, language, onLanguage }: { section: DocSection; language: Language; onLanguage: (l: Language) => void }) {
  const origin = window.location.origin;
  return (
    <section id={section.id} aria-labelledby={`${section.id}-title`} className="grid min-w-0 scroll-mt-20 gap-3">
      <h2 id={`${section.id}-title`} className="text-xl font-semibold">
        {section.title}
      </h2>
      <p className="text-muted-foreground">{section.intro}</p>
      <Tabs value={language} onValueChange={(v) => onLanguage(v as Language)} className="min-w-0">
        <div className="overflow-x-auto">
          <TabsList aria-label={`${section.title}: language`}>
            {LANGUAGES.map(([id, label]) => (
              <TabsTrigger key={id} value={id}>
                {label}
              </TabsTrigger>
            ))}
          </TabsList>
        </div>
        {LANGUAGES.map(([id, label]) => (
          <TabsContent key={id} value={id} className="min-w-0">
            <CodeBlock code={forSite(section.code[id], origin)} title={`${section.title} — ${label}`} />
          </TabsContent>
        ))}
      </Tabs>
      {section.notes && (
        <div className="overflow-x-auto rounded-xl border">
          <Table>
            <TableHeader>
              <TableRow>
                <TableHead>Status</TableHead>
                <TableHead>code</TableHead>
                <TableHead>Meaning</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {section.notes.map(([status, code, meaning]) => (
                <TableRow key={status + code}>
                  <TableCell className="tabular-nums">{status}</TableCell>
                  <TableCell>
                    <code>{code}</code>
                  </TableCell>
                  <TableCell className="whitespace-normal">{meaning}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </div>
      )}
    </section>
  );
}

/** /docs: how to call the API, with examples in five languages (one choice for the whole page) and copy buttons. */
export default function DocsPage() {
  const [language, setLanguage] = useState<Language>(savedLanguage);
  const choose = (l: Language) => {
    setLanguage(l);
    try {
      localStorage.setItem(LANGUAGE_KEY, l);
    } catch {
      // Storage blocked: the choice lasts for this visit.
    }
  };
  return (
    <div className="mx-auto grid max-w-5xl gap-8 px-4 py-10 lg:grid-cols-[12rem_minmax(0,1fr)]">
      <nav aria-label="On this page" className="hidden lg:block">
        <ul className="sticky top-20 grid gap-1 text-sm">
          {SECTIONS.map((s) => (
            <li key={s.id}>
              <a href={`#${s.id}`} className="text-muted-foreground hover:text-foreground">
                {s.title}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div className="grid min-w-0 gap-10">
        <header className="grid gap-3">
          <h1 className="text-3xl font-semibold">Documentation</h1>
          <p className="text-muted-foreground">
            GPT API speaks the OpenAI API: use the official SDKs and change only the base URL and the key. Every endpoint and field is in the{" "}
            <a href="/api/docs" className="text-primary inline-flex items-center gap-1 underline underline-offset-4">
              <BookOpenIcon className="size-4" /> API reference <ExternalLinkIcon className="size-3" />
            </a>
            .
          </p>
        </header>
        {SECTIONS.map((s) => (
          <Section key={s.id} section={s} language={language} onLanguage={choose} />
        ))}
      </div>
    </div>
  );
}
