import { type FormEvent, useState } from "react";
import { type FieldErrors, routeError } from "@/lib/errors";

/**
 * A form's submit state: busy while the call runs, and the server's error placed on the named field (or shown as
 * a toast when it names none of them).
 */
export function useSubmit(fields: readonly string[], action: (data: FormData) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const onSubmit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      await action(new FormData(e.currentTarget));
    } catch (err) {
      setErrors(routeError(err, fields));
    } finally {
      setBusy(false);
    }
  };
  return { busy, errors, onSubmit };
}

export function text(data: FormData, name: string): string {
  const v = data.get(name);
  return typeof v === "string" ? v : "";
}
