import type { ReactNode } from "react";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

/** The frame of the pages our e-mails link to. */
export function LinkCard({ title, description, children }: { title: string; description?: ReactNode; children?: ReactNode }) {
  return (
    <section className="mx-auto max-w-md px-4 py-16">
      <Card>
        <CardHeader>
          <CardTitle>
            <h1 className="text-xl">{title}</h1>
          </CardTitle>
          {description && <CardDescription>{description}</CardDescription>}
        </CardHeader>
        {children && <CardContent className="grid gap-4">{children}</CardContent>}
      </Card>
    </section>
  );
}

export function tokenFrom(search: URLSearchParams): string | null {
  const token = search.get("token");
  return token && token.length <= 200 ? token : null;
}
