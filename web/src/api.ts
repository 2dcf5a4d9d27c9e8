// The JSON API, as the page uses it: same origin, the session cookie, JSON errors turned
// into plain words.

export interface ApiErrorBody {
  error?: { code?: string; message?: string };
}

/** A refusal or failure, with what the person should read. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

function plainWords(status: number, code: string, serverMessage: string, retryAfter: number | null): string {
  switch (code) {
    case "payload_too_large":
      return "That photo is too large. Please choose one under the size limit.";
    case "unsupported_media_type":
      return "That file is not a photo we can read. Please use a JPEG, PNG or WebP image.";
    case "guest_limit_reached":
      return "Guests can read a few palms. Create a free account to read more.";
    case "rate_limited":
      return retryAfter
        ? `Too many attempts. Please try again in ${waitWords(retryAfter)}.`
        : "Too many attempts. Please try again later.";
    case "account_required":
      return "Please create an account or sign in for this.";
    case "invalid_credentials":
      return "That email and password do not match an account.";
    case "email_taken":
      return "An account with that email exists already. Sign in instead?";
    case "storage_full":
    case "unavailable":
      return "The service is busy right now. Please try again in a minute.";
  }
  if (status === 401) return "Please sign in again.";
  if (status === 404) return "We could not find that. It may have been deleted.";
  if (status === 413) return "That photo is too large. Please choose one under the size limit.";
  if (status === 415) return "That file is not a photo we can read. Please use a JPEG, PNG or WebP image.";
  if (status >= 500) return "Something went wrong on our side. Please try again.";
  return serverMessage || "That did not work. Please check and try again.";
}

/** "3 minutes", "40 seconds". */
export function waitWords(seconds: number): string {
  if (seconds >= 90) return `${Math.ceil(seconds / 60)} minutes`;
  return `${Math.max(1, Math.round(seconds))} seconds`;
}

/** Sends a request; resolves with the JSON body (or null for 204), rejects with ApiError. */
export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const init: RequestInit = { method, credentials: "same-origin", headers: {} };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "We could not reach the service. Check your connection and try again.");
  }
  if (response.status === 204) return null as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = (json as ApiErrorBody | null)?.error ?? {};
    const retry = Number(response.headers.get("retry-after"));
    const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : null;
    const code = error.code ?? `http_${response.status}`;
    throw new ApiError(response.status, code, plainWords(response.status, code, error.message ?? "", retryAfter), retryAfter);
  }
  return json as T;
}

/** What a thrown value says to a person. */
export function explain(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return "Something went wrong. Please try again.";
}
