import { Button } from "@/components/ui/button";
import { usePublicConfig } from "@/lib/config";

const TITLES: Record<string, string> = { google: "Google", github: "GitHub", facebook: "Facebook", indeed: "Indeed" };

/** One button per provider the server has configured, and none when it has none. */
export function OAuthButtons() {
  const { data } = usePublicConfig();
  const providers = data?.oauth_providers ?? [];
  if (providers.length === 0) return null;
  return (
    <div className="grid gap-2">
      <div className="text-muted-foreground flex items-center gap-2 text-xs uppercase">
        <span className="bg-border h-px flex-1" /> or <span className="bg-border h-px flex-1" />
      </div>
      {providers.map((p) => (
        <Button key={p} variant="outline" asChild>
          <a href={`/api/auth/oauth/${encodeURIComponent(p)}/start`}>Continue with {TITLES[p] ?? p}</a>
        </Button>
      ))}
    </div>
  );
}
