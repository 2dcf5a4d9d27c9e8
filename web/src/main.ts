// The page's entry point: the navigation, which follows who is signed in, and the routes.
import { h, replace } from "./dom";
import { fallback, route, start } from "./router";
import { me, onUserChange, type User } from "./session";
import { accountView, logInView, signOut, signUpView } from "./views/auth";
import { historyView } from "./views/history";
import { readingView } from "./views/reading";
import { uploadView } from "./views/upload";

function drawNav(user: User | null): void {
  const nav = document.getElementById("nav");
  if (!nav) return;
  const link = (href: string, text: string) => h("li", {}, h("a", { href, "data-link": true }, text));
  const items =
    user && !user.is_guest
      ? [
          link("/", "New reading"),
          link("/readings", "Your readings"),
          link("/account", "Account"),
          h("li", {}, h("button", { type: "button", class: "link", onclick: () => void signOut() }, "Sign out")),
        ]
      : [link("/", "New reading"), user?.is_guest ? link("/readings", "Your readings") : null, link("/login", "Sign in"), link("/signup", "Sign up")];
  replace(nav, h("ul", {}, ...items));
}

route("/", uploadView);
route("/readings", historyView);
route("/readings/:id", readingView);
route("/login", logInView);
route("/signup", signUpView);
route("/account", accountView);
fallback((_, main) => {
  replace(main, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "/", "data-link": true }, "Go to the start")));
});

onUserChange(drawNav);
void me()
  .then(drawNav)
  .catch(() => drawNav(null));
start();
