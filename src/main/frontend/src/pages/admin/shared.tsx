import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { useAuth } from "@/lib/auth";

/** One page of an admin list (AdminJson.page): newest first, `next_before` is the cursor of the next page. */
export interface Page<T> {
  data: T[];
  has_more: boolean;
  next_before: number | null;
}

/**
 * A cursor-paged admin list: the cursors of the pages seen so far are kept, so "Previous" goes back exactly. New
 * filters (a search, a state) start again at the first page.
 */
export function usePagedList<T>(path: string, filters: Record<string, string> = {}) {
  const { api } = useAuth();
  const [cursors, setCursors] = useState<number[]>([]);
  const filterKey = new URLSearchParams(Object.entries(filters).filter(([, v]) => v !== "")).toString();
  const [lastFilters, setLastFilters] = useState(filterKey);
  if (filterKey !== lastFilters) {
    setLastFilters(filterKey);
    setCursors([]);
  }
  const before = cursors.at(-1);
  const params = new URLSearchParams(filterKey);
  if (before) params.set("before", String(before));
  params.set("limit", "25");
  const query = useQuery({
    queryKey: ["admin", path, filterKey, before ?? null],
    queryFn: () => api.get<Page<T>>(`${path}?${params}`),
    placeholderData: keepPreviousData,
  });
  const nextBefore = query.data?.has_more ? query.data.next_before : null;
  return {
    query,
    page: cursors.length + 1,
    next: nextBefore ? () => setCursors((c) => [...c, nextBefore]) : undefined,
    previous: cursors.length > 0 ? () => setCursors((c) => c.slice(0, -1)) : undefined,
  };
}

export function Pager({ page, next, previous }: { page: number; next?: () => void; previous?: () => void }) {
  return (
    <nav aria-label="Pages" className="flex items-center justify-end gap-2 text-sm">
      <Button variant="outline" size="sm" disabled={!previous} onClick={previous}>
        Previous
      </Button>
      <span className="text-muted-foreground">Page {page}</span>
      <Button variant="outline" size="sm" disabled={!next} onClick={next}>
        Next
      </Button>
    </nav>
  );
}

/** A search box that applies on submit (Enter), not on every key. */
export function SearchBox({ label, initial = "", onSearch }: { label: string; initial?: string; onSearch: (q: string) => void }) {
  const [value, setValue] = useState(initial);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onSearch(value.trim());
  };
  return (
    <form role="search" onSubmit={submit} className="flex w-full max-w-md gap-2">
      <Input aria-label={label} placeholder={label} value={value} maxLength={200} onChange={(e) => setValue(e.target.value)} />
      <Button type="submit" variant="outline">
        Search
      </Button>
    </form>
  );
}

/** A table's card; the table scrolls sideways inside it on a narrow screen, instead of widening the page. */
export function Scroll({ children }: { children: React.ReactNode }) {
  return <div className="bg-card min-w-0 rounded-xl border">{children}</div>;
}
