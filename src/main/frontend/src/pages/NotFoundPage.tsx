import { Link } from "react-router";
import { Button } from "@/components/ui/button";

export default function NotFoundPage() {
  return (
    <section className="mx-auto grid max-w-xl gap-4 px-4 py-20 text-center">
      <h1 className="text-3xl font-semibold tracking-tight">Page not found</h1>
      <p className="text-muted-foreground">There is nothing at this address. Check the link, or start over.</p>
      <Button asChild className="mx-auto">
        <Link to="/">Go to the start</Link>
      </Button>
    </section>
  );
}
