// Who is signed in: an account, a guest (a cookie session made by a first upload), or
// nobody.
import { api } from "./api";

export interface User {
  id: string;
  email: string | null;
  display_name: string | null;
  is_guest: boolean;
}

let current: User | null | undefined;
let asking: Promise<User | null> | null = null;
const listeners: Array<(user: User | null) => void> = [];

/** The signed-in user (asked once, then remembered until it changes). */
export function me(): Promise<User | null> {
  if (current !== undefined) return Promise.resolve(current);
  asking ??= api<{ user: User | null }>("GET", "/api/v1/auth/session")
    .then((body) => {
      current = body.user;
      return current;
    })
    .finally(() => {
      asking = null;
    });
  return asking;
}

/** Records a change (sign-up, sign-in, sign-out, a guest session) and tells listeners. */
export function setUser(user: User | null): void {
  current = user;
  asking = null;
  for (const listener of listeners) listener(user);
}

/** Forgets what is known, so the next `me()` asks again. */
export function forget(): void {
  current = undefined;
  asking = null;
}

export function onUserChange(listener: (user: User | null) => void): void {
  listeners.push(listener);
}
