import { ConstructionIcon } from "lucide-react";
import { Link } from "react-router";
import { Button } from "@/components/ui/button";

/** A page that is planned but not built yet: says so plainly instead of looking broken. */
export default function ComingPage({ title, what, reference }: { title: string; what: string; reference?: boolean }) {
  return (
    <section className="mx-auto grid max-w-2xl gap-4 px-4 py-20 text-center">
      <ConstructionIcon className="text-muted-foreground mx-auto size-10" aria-hidden />
      <h1 className="text-3xl font-semibold tracking-tight">{title}</h1>
      <p className="text-muted-foreground">
        Coming soon: {what}
      </p>
      <div className="flex justify-center gap-2">
        {reference && (
          <Button asChild>
            <a href="/api/docs">Open the API reference</a>
          </Button>
        )}
        <Button variant="outline" asChild>
          <Link to="/">Back to the start</Link>
        </Button>
      </div>
    </section>
  );
}
