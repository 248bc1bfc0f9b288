import type { Unavailable } from "./api";

/** A part of billing Stripe could not answer for: said plainly, the rest of the tab still works. */
export function UnavailablePart({ what, part }: { what: string; part: Unavailable }) {
  return (
    <p role="status" className="bg-warn/15 rounded-md p-3 text-sm">
      {what} cannot be shown right now: {part.message} Try again in a few minutes.
    </p>
  );
}
