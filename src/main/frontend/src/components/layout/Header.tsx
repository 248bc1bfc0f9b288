import { MoonIcon, SunIcon } from "lucide-react";
import { lazy, Suspense } from "react";
import { Link } from "react-router";
import { Button } from "@/components/ui/button";
import { useAuth } from "@/lib/auth";
import { useModals } from "@/lib/modals";
import { useTheme } from "@/lib/theme";

// Only signed-in users see the menu: its code (and the dropdown's) stays out of the landing page's download.
const AccountMenu = lazy(() => import("./AccountMenu"));

export function Logo() {
  return (
    <Link to="/" aria-label="GPT API home" className="flex shrink-0 items-center gap-2 font-semibold tracking-tight whitespace-nowrap">
      <img src="/favicon.svg" alt="" width={24} height={24} />
      {/* Phones keep the room for the account menu: the mark alone, named by the link's label. */}
      <span className="hidden sm:inline">GPT API</span>
    </Link>
  );
}

function ThemeToggle() {
  const [theme, setTheme] = useTheme();
  const next = theme === "dark" ? "light" : "dark";
  return (
    <Button variant="ghost" size="icon" aria-label={`Switch to ${next} theme`} onClick={() => setTheme(next)}>
      {theme === "dark" ? <SunIcon /> : <MoonIcon />}
    </Button>
  );
}

export function Header() {
  const { status } = useAuth();
  const { open } = useModals();
  return (
    <header className="bg-background/90 sticky top-0 z-40 border-b backdrop-blur">
      <div className="mx-auto flex h-14 max-w-6xl items-center gap-2 px-4">
        <Logo />
        <nav aria-label="Main" className="ml-6 hidden items-center gap-4 text-sm md:flex">
          <Link to="/docs" className="text-muted-foreground hover:text-foreground">
            Documentation
          </Link>
          <Link to="/status" className="text-muted-foreground hover:text-foreground">
            Status
          </Link>
        </nav>
        <div className="ml-auto flex items-center gap-1 sm:gap-2">
          <ThemeToggle />
          {status === "signed_in" ? (
            <>
              <Button variant="ghost" size="sm" asChild>
                <Link to="/dashboard">Dashboard</Link>
              </Button>
              <Suspense fallback={null}>
                <AccountMenu />
              </Suspense>
            </>
          ) : status === "signed_out" ? (
            <>
              <Button variant="ghost" size="sm" onClick={() => open({ kind: "signin" })}>
                Sign In
              </Button>
              <Button size="sm" onClick={() => open({ kind: "signup" })}>
                Register
              </Button>
            </>
          ) : null}
        </div>
      </div>
    </header>
  );
}
