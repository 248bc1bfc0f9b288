import { ConstructionIcon } from "lucide-react";
import { Card, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

/** A tab that is planned but not built yet. */
export function ComingTab({ title, what }: { title: string; what: string }) {
  return (
    <Card>
      <CardHeader>
        <ConstructionIcon className="text-muted-foreground size-6" aria-hidden />
        <CardTitle>
          <h2>{title}: coming soon</h2>
        </CardTitle>
        <CardDescription>{what}</CardDescription>
      </CardHeader>
    </Card>
  );
}
