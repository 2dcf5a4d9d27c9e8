// Sign up, sign in, and the account page (sign out, delete the account).
import { api, explain } from "../api";
import { h, replace, status } from "../dom";
import { go } from "../router";
import { forget, me, setUser, type User } from "../session";

function field(id: string, label: string, attrs: Record<string, string | boolean>) {
  return h("p", { class: "field" }, h("label", { for: id }, label), h("input", { id, name: id, required: true, ...attrs }));
}

function value(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement).value;
}

/** The sign-up form; a guest's readings move to the new account (the claim). */
export function signUpForm(done: () => void): HTMLFormElement {
  const message = status("error");
  const form = h(
    "form",
    { class: "auth", novalidate: false },
    field("signup-email", "Email", { type: "email", autocomplete: "email" }),
    field("signup-password", "Password (at least 8 characters)", { type: "password", autocomplete: "new-password", minlength: "8" }),
    h("button", { type: "submit", class: "button" }, "Create my account"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    try {
      const body = await api<{ user: User }>("POST", "/api/v1/auth/register", {
        email: value(form, "signup-email"),
        password: value(form, "signup-password"),
      });
      setUser(body.user);
      done();
    } catch (err) {
      replace(message, explain(err));
    }
  });
  return form;
}

export function signUpView(_: Record<string, string>, main: HTMLElement): void {
  replace(
    main,
    h("h1", {}, "Create your account"),
    h("p", {}, "Keep your readings, see them in full, and ask questions about them."),
    signUpForm(() => go("/readings")),
    h("p", {}, "Have an account already? ", h("a", { href: "/login", "data-link": true }, "Sign in")),
  );
}

export function logInView(_: Record<string, string>, main: HTMLElement): void {
  const message = status("error");
  const form = h(
    "form",
    { class: "auth" },
    field("login-email", "Email", { type: "email", autocomplete: "email" }),
    field("login-password", "Password", { type: "password", autocomplete: "current-password" }),
    h("button", { type: "submit", class: "button" }, "Sign in"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(message);
    try {
      const body = await api<{ user: User }>("POST", "/api/v1/auth/login", {
        email: value(form, "login-email"),
        password: value(form, "login-password"),
      });
      setUser(body.user);
      go("/readings");
    } catch (err) {
      replace(message, explain(err));
    }
  });
  replace(
    main,
    h("h1", {}, "Sign in"),
    form,
    h("p", {}, "New here? ", h("a", { href: "/signup", "data-link": true }, "Create an account")),
  );
}

export async function signOut(): Promise<void> {
  try {
    await api("POST", "/api/v1/auth/logout");
  } finally {
    setUser(null);
    go("/");
  }
}

export async function accountView(_: Record<string, string>, main: HTMLElement): Promise<void> {
  const user = await me().catch(() => null);
  if (!user || user.is_guest) {
    go("/login");
    return;
  }
  const message = status("error");
  const confirmBox = h("input", { type: "checkbox", id: "confirm-delete" });
  const remove = h("button", { type: "submit", class: "button danger" }, "Delete my account");
  const form = h(
    "form",
    { class: "danger-zone", "aria-labelledby": "delete-title" },
    h("h2", { id: "delete-title" }, "Delete your account"),
    h("p", {}, "This deletes your account, every reading and photo, and every conversation. It cannot be undone."),
    field("delete-password", "Your current password", { type: "password", autocomplete: "current-password", required: false }),
    h("p", { class: "field check" }, confirmBox, h("label", { for: "confirm-delete" }, " I understand; delete everything")),
    remove,
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!confirmBox.checked) {
      replace(message, "Tick the box to confirm first.");
      confirmBox.focus();
      return;
    }
    const password = value(form, "delete-password");
    if (!password) {
      replace(message, "Type your current password first.");
      (form.elements.namedItem("delete-password") as HTMLInputElement).focus();
      return;
    }
    remove.disabled = true;
    try {
      await api("DELETE", "/api/v1/auth/me", { password });
      forget();
      setUser(null);
      go("/");
    } catch (err) {
      remove.disabled = false;
      replace(message, explain(err));
    }
  });
  replace(
    main,
    h("h1", {}, "Your account"),
    h("p", {}, `Signed in as ${user.email ?? ""}.`),
    h("p", {}, h("button", { type: "button", class: "button secondary", onclick: () => void signOut() }, "Sign out")),
    form,
  );
}
