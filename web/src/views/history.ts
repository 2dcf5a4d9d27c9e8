// The history of readings, newest first, a page at a time; each can be deleted.
import { api, explain } from "../api";
import { h, replace, status } from "../dom";
import { go } from "../router";
import { me } from "../session";
import type { Analysis } from "./reading";

const PAGE = 12;

export async function historyView(_: Record<string, string>, main: HTMLElement): Promise<void> {
  const user = await me().catch(() => null);
  if (!user) {
    go("/login");
    return;
  }
  const offset = Math.max(0, Number(new URLSearchParams(location.search).get("offset")) || 0);
  const message = status("error");
  replace(main, h("h1", {}, "Your readings"), message);
  let page: { analyses: Analysis[]; next_offset: number | null };
  try {
    page = await api("GET", `/api/v1/analyses?limit=${PAGE}&offset=${offset}`);
  } catch (err) {
    replace(message, explain(err));
    return;
  }
  if (page.analyses.length === 0 && offset === 0) {
    main.appendChild(h("p", {}, "No readings yet. ", h("a", { href: "/", "data-link": true }, "Read your first palm")));
    return;
  }
  const list = h("ul", { class: "history" });
  for (const analysis of page.analyses) {
    const date = new Date(analysis.created_at).toLocaleString();
    const item = h(
      "li",
      { class: "card" },
      h("img", { src: analysis.links.thumbnail, alt: "", loading: "lazy", width: 96, height: 128 }),
      h(
        "div",
        {},
        h("a", { href: `/readings/${encodeURIComponent(analysis.id)}`, "data-link": true }, `Reading of ${date}`),
        h("p", { class: "hint" }, analysis.status === "completed" ? analysis.reading?.summary?.slice(0, 120) ?? "" : `Status: ${analysis.status}`),
      ),
    );
    const remove = h("button", { type: "button", class: "button secondary small", "aria-label": `Delete the reading of ${date}` }, "Delete");
    remove.addEventListener("click", async () => {
      if (!window.confirm("Delete this reading, its photos and conversations?")) return;
      try {
        await api("DELETE", `/api/v1/analyses/${encodeURIComponent(analysis.id)}`);
        item.remove();
        replace(message, "");
      } catch (err) {
        replace(message, explain(err));
      }
    });
    item.appendChild(remove);
    list.appendChild(item);
  }
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  if (offset > 0) pager.appendChild(h("a", { href: `/readings?offset=${Math.max(0, offset - PAGE)}`, "data-link": true }, "Newer"));
  if (page.next_offset !== null) pager.appendChild(h("a", { href: `/readings?offset=${page.next_offset}`, "data-link": true }, "Older"));
  main.append(list, pager);
}
