import { ChevronDownIcon, LogOutIcon, UserIcon } from "lucide-react";
import { useNavigate } from "react-router";
import { Button } from "@/components/ui/button";
import {
  DropdownMenu,
  DropdownMenuContent,
  DropdownMenuItem,
  DropdownMenuLabel,
  DropdownMenuRadioGroup,
  DropdownMenuRadioItem,
  DropdownMenuSeparator,
  DropdownMenuTrigger,
} from "@/components/ui/dropdown-menu";
import { useAuth } from "@/lib/auth";
import { routeError } from "@/lib/errors";

/** The signed-in user's menu: organization switcher, security, admin console, sign out. */
export default function AccountMenu() {
  const { me, org, selectOrg, signOut } = useAuth();
  const navigate = useNavigate();
  if (!me) return null;
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button variant="outline" size="sm" className="max-w-32 sm:max-w-44">
          <UserIcon />
          {/* The name is read as "Account menu: <org>": it must contain the visible text (axe, WCAG 2.5.3). */}
          <span className="sr-only">Account menu: </span>
          <span className="truncate">{org?.name ?? me.email}</span>
          <ChevronDownIcon />
        </Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end" className="w-64">
        <DropdownMenuLabel className="font-normal">
          <div className="truncate font-medium">{me.name || me.email}</div>
          <div className="text-muted-foreground truncate text-xs">{me.email}</div>
        </DropdownMenuLabel>
        <DropdownMenuSeparator />
        <DropdownMenuLabel className="text-muted-foreground text-xs">Organization</DropdownMenuLabel>
        <DropdownMenuRadioGroup value={org ? String(org.id) : ""} onValueChange={(v) => selectOrg(Number(v))}>
          {me.organizations.map((o) => (
            <DropdownMenuRadioItem key={o.id} value={String(o.id)}>
              <span className="truncate">{o.name}</span>
              <span className="text-muted-foreground ml-auto text-xs">{o.role}</span>
            </DropdownMenuRadioItem>
          ))}
        </DropdownMenuRadioGroup>
        <DropdownMenuSeparator />
        <DropdownMenuItem onSelect={() => navigate("/dashboard/security")}>Security</DropdownMenuItem>
        {me.is_admin && <DropdownMenuItem onSelect={() => navigate("/admin")}>Admin console</DropdownMenuItem>}
        <DropdownMenuItem
          variant="destructive"
          onSelect={() => {
            // Leave the dashboard first: signed out there, it would ask to sign in again.
            navigate("/");
            signOut().catch(routeError);
          }}
        >
          <LogOutIcon /> Sign out
        </DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}
