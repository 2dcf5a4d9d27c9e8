// Client-side routes. The server answers every one of these paths with the page itself,
// so a reload or a shared link lands on the same view.

export type View = (params: Record<string, string>, main: HTMLElement) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  keys: string[];
  view: View;
}

const routes: Route[] = [];
let notFound: View = () => {};

/** Registers `view` for a path like `/readings/:id`. */
export function route(path: string, view: View): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    "^" + path.replace(/:([a-z]+)/g, (_, key: string) => {
      keys.push(key);
      return "([^/]+)";
    }) + "/?$",
  );
  routes.push({ pattern, keys, view });
}

export function fallback(view: View): void {
  notFound = view;
}

/** Goes to `path`, adding it to the history. */
export function go(path: string): void {
  history.pushState(null, "", path);
  void render();
}

let generation = 0;

/** Whether the view started as `token` is still the one on screen. */
export function current(token: number): boolean {
  return token === generation;
}

export function token(): number {
  return generation;
}

/** Draws the view for the current location into <main>. */
export async function render(): Promise<void> {
  generation += 1;
  const main = document.getElementById("main") as HTMLElement;
  const path = location.pathname;
  for (const { pattern, keys, view } of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    keys.forEach((key, i) => (params[key] = decodeURIComponent(match[i + 1])));
    main.replaceChildren();
    await view(params, main);
    focusHeading(main);
    return;
  }
  main.replaceChildren();
  await notFound({}, main);
  focusHeading(main);
}

/** Moves keyboard and screen-reader focus to the new view's heading. */
function focusHeading(main: HTMLElement): void {
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
    document.title = `${heading.textContent ?? "Hast"} · Hast`;
  }
}

/** Follows same-origin links marked `data-link` without reloading the page. */
export function start(): void {
  document.addEventListener("click", (event) => {
    const target = event.target as Element | null;
    const link = target?.closest("a[data-link]") as HTMLAnchorElement | null;
    if (!link || event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(link.getAttribute("href") ?? "/");
  });
  window.addEventListener("popstate", () => void render());
  // The first view is drawn and its handlers attached: what the load benchmark times.
  void render().then(() => performance.mark("hast:interactive"));
}
