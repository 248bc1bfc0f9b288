import { Link } from "react-router";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";

export function Footer() {
  const { status } = useAuth();
  const { open } = useModals();
  const item = "text-muted-foreground hover:text-foreground";
  return (
    <footer className="mt-16 border-t">
      <div className="mx-auto flex max-w-6xl flex-col gap-4 px-4 py-8 text-sm md:flex-row md:items-center md:justify-between">
        <nav aria-label="Footer" className="flex flex-wrap gap-x-5 gap-y-2">
          {status === "signed_in" ? (
            <Link to="/dashboard" className={item}>
              Dashboard
            </Link>
          ) : (
            <Link to="/" className={item}>
              Landing
            </Link>
          )}
          <Link to="/status" className={item}>
            Status
          </Link>
          <Link to="/docs" className={item}>
            Documentation
          </Link>
          <button type="button" className={item} onClick={() => open({ kind: "privacy" })}>
            Privacy Policy
          </button>
          <button type="button" className={item} onClick={() => open({ kind: "terms" })}>
            Terms of Service
          </button>
          <button type="button" className={item} onClick={() => open({ kind: "contact" })}>
            Contact Us
          </button>
        </nav>
        <p className="text-muted-foreground">© 2025 GPT API</p>
      </div>
    </footer>
  );
}
