// Conversations about a reading: start one, ask, watch the answer arrive, rename, delete.
import { api, explain } from "../api";
import { h, replace, status } from "../dom";
import { token } from "../router";
import type { User } from "../session";
import { follow, type Analysis } from "./reading";

interface Message {
  id: string;
  role: string;
  content: string;
}

interface Conversation {
  id: string;
  title: string;
  messages?: Message[];
}

export async function conversationsSection(analysis: Analysis, user: User | null): Promise<HTMLElement> {
  const section = h("section", { class: "conversations", "aria-labelledby": "conversations-title" }, h("h2", { id: "conversations-title" }, "Questions about this reading"));
  if (!user || user.is_guest) {
    section.append(h("p", {}, h("a", { href: "/signup", "data-link": true }, "Create an account"), " to ask questions about your reading."));
    return section;
  }
  const message = status("error");
  const list = h("div", { class: "conversation-list" });
  const start = h("button", { type: "button", class: "button secondary" }, "Start a conversation");
  start.addEventListener("click", async () => {
    try {
      const body = await api<{ conversation: Conversation }>("POST", `/api/v1/analyses/${encodeURIComponent(analysis.id)}/conversations`, {});
      list.prepend(await conversationCard(body.conversation.id, message, true));
    } catch (err) {
      replace(message, explain(err));
    }
  });
  section.append(start, message, list);
  try {
    const body = await api<{ conversations: Conversation[] }>("GET", `/api/v1/analyses/${encodeURIComponent(analysis.id)}/conversations?limit=20`);
    for (const conversation of body.conversations) list.append(await conversationCard(conversation.id, message, false));
  } catch (err) {
    replace(message, explain(err));
  }
  return section;
}

async function conversationCard(id: string, message: HTMLElement, focus: boolean): Promise<HTMLElement> {
  const path = `/api/v1/conversations/${encodeURIComponent(id)}`;
  const conversation = (await api<{ conversation: Conversation }>("GET", path)).conversation;
  const heading = h("h3", {}, conversation.title);
  const transcript = h("ol", { class: "transcript", "aria-live": "polite" });
  const show = (messages: Message[]) =>
    replace(transcript, ...messages.map((m) => h("li", { class: `says ${m.role}` }, h("span", { class: "visually-hidden" }, m.role === "user" ? "You: " : "Hast: "), m.content)));
  show(conversation.messages ?? []);
  const questionId = `question-${id}`;
  const question = h("textarea", { id: questionId, rows: 2, required: true, maxlength: 2000 });
  const ask = h("button", { type: "submit", class: "button" }, "Ask");
  const waiting = status();
  const form = h("form", { class: "ask" }, h("label", { for: questionId }, "Your question"), question, ask, waiting);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const content = question.value.trim();
    if (!content) return;
    ask.disabled = true;
    replace(message);
    try {
      const body = await api<{ message: Message; job: { id: string } }>("POST", `${path}/messages`, { content });
      question.value = "";
      transcript.append(h("li", { class: "says user" }, h("span", { class: "visually-hidden" }, "You: "), body.message.content));
      replace(waiting, "Hast is thinking…");
      await follow(body.job.id, () => {}, token());
      const fresh = (await api<{ conversation: Conversation }>("GET", path)).conversation;
      show(fresh.messages ?? []);
      replace(waiting, "");
    } catch (err) {
      replace(waiting, "");
      replace(message, explain(err));
    } finally {
      ask.disabled = false;
    }
  });
  const rename = h("button", { type: "button", class: "button secondary small" }, "Rename");
  rename.addEventListener("click", async () => {
    const title = window.prompt("A new name for this conversation", conversation.title);
    if (!title?.trim()) return;
    try {
      const body = await api<{ conversation: Conversation }>("PATCH", path, { title });
      heading.textContent = body.conversation.title;
    } catch (err) {
      replace(message, explain(err));
    }
  });
  const card = h("article", { class: "conversation" }, heading, transcript, form);
  const remove = h("button", { type: "button", class: "button secondary small" }, "Delete");
  remove.addEventListener("click", async () => {
    if (!window.confirm("Delete this conversation?")) return;
    try {
      await api("DELETE", path);
      card.remove();
    } catch (err) {
      replace(message, explain(err));
    }
  });
  card.insertBefore(h("p", { class: "actions" }, rename, remove), transcript);
  if (focus) queueMicrotask(() => question.focus());
  return card;
}
