// One analysis: live progress while it runs, then the reading, with the lines drawn over
// the photo; a guest sees the summary and is invited to sign up for the rest.
import { api, explain } from "../api";
import { append, h, replace, status, svg } from "../dom";
import { current, go, token } from "../router";
import { me, type User } from "../session";
import { signUpForm } from "./auth";
import { conversationsSection } from "./conversations";

interface Line {
  id: string;
  english: string;
  hindi: string;
  present: boolean;
  polyline: [number, number][];
  confidence: number;
  reading: string;
}

interface Named {
  id?: string;
  name?: string;
  english?: string;
  hindi?: string;
  reading: string;
  prominence?: string;
  source?: string;
}

export interface Reading {
  summary: string;
  quality: { usable: boolean; issues: string[]; advice: string[] };
  disclaimer: string;
  full_reading?: string;
  hand?: { side: string | null };
  shape?: Named | null;
  fingers?: Named | null;
  lines?: Line[];
  mounts?: Named[];
  strengths?: string[];
  guidance?: string[];
  second_hand?: Reading;
  comparison?: {
    summary: string;
    lines: { id: string; english: string; hindi: string; differs: boolean; reading: string }[];
  };
}

export interface Analysis {
  id: string;
  status: string;
  job_id: string | null;
  error: { code: string; message: string } | null;
  reading: Reading | null;
  created_at: string;
  links: { image: string; overlay: string; thumbnail: string };
}

interface JobStatus {
  status: string;
  progress: number;
  attempt: number;
  max_attempts: number;
}

const FINAL = ["completed", "failed", "cancelled"];
const STAGES: Record<string, string> = {
  queued: "Waiting for a reader…",
  running: "Reading your palm…",
  retrying: "A hiccup; trying again shortly…",
  completed: "Done.",
  failed: "The reading could not be made.",
  cancelled: "The reading was cancelled.",
};

export async function readingView(params: Record<string, string>, main: HTMLElement): Promise<void> {
  const id = params.id;
  const view = token();
  const message = status("error");
  let analysis: Analysis;
  try {
    analysis = (await api<{ analysis: Analysis }>("GET", `/api/v1/analyses/${encodeURIComponent(id)}`)).analysis;
  } catch (err) {
    replace(main, h("h1", {}, "Reading"), message);
    replace(message, explain(err));
    return;
  }
  if (!current(view)) return;
  if (analysis.status === "completed" || analysis.status === "failed") {
    await showResult(main, analysis);
    return;
  }
  const bar = h("div", {
    class: "progress",
    role: "progressbar",
    "aria-valuemin": 0,
    "aria-valuemax": 100,
    "aria-valuenow": 0,
    "aria-label": "Reading progress",
  });
  const fill = h("div", { class: "progress-fill" });
  bar.appendChild(fill);
  const stage = status();
  replace(main, h("h1", {}, "Reading your palm"), stage, bar, message);
  const show = (job: JobStatus) => {
    const percent = job.status === "completed" ? 100 : Math.max(0, Math.min(100, job.progress ?? 0));
    fill.style.width = `${percent}%`;
    bar.setAttribute("aria-valuenow", String(percent));
    const words = STAGES[job.status] ?? job.status;
    stage.textContent = job.status === "running" ? `${words} ${percent} %` : words;
  };
  show({ status: analysis.status === "running" ? "running" : "queued", progress: 0, attempt: 0, max_attempts: 0 });
  if (!analysis.job_id) return;
  await follow(analysis.job_id, show, view);
  if (!current(view)) return;
  try {
    const done = (await api<{ analysis: Analysis }>("GET", `/api/v1/analyses/${encodeURIComponent(id)}`)).analysis;
    if (current(view)) await showResult(main, done);
  } catch (err) {
    replace(message, explain(err));
  }
}

/** Follows a job's event stream until a final status; reconnects after a dropped
 * connection (the server sends the current status first on each connection). */
export function follow(jobId: string, show: (job: JobStatus) => void, view: number): Promise<void> {
  return new Promise((resolve) => {
    const source = new EventSource(`/api/v1/jobs/${encodeURIComponent(jobId)}/events`);
    const stop = () => {
      source.close();
      resolve();
    };
    for (const name of ["queued", "running", "retrying", ...FINAL]) {
      source.addEventListener(name, (event) => {
        if (!current(view)) return stop();
        let job: JobStatus;
        try {
          job = JSON.parse((event as MessageEvent).data) as JobStatus;
        } catch {
          return;
        }
        show(job);
        if (FINAL.includes(job.status)) stop();
      });
    }
    // A dropped connection: EventSource reconnects by itself; one that the server refused
    // (the job is gone) is closed for good.
    source.addEventListener("error", () => {
      if (!current(view) || source.readyState === EventSource.CLOSED) stop();
    });
  });
}

async function showResult(main: HTMLElement, analysis: Analysis): Promise<void> {
  const user = await me().catch(() => null);
  const title = h("h1", {}, "Your palm reading");
  if (analysis.status === "failed" || !analysis.reading) {
    replace(
      main,
      h("h1", {}, "The reading could not be made"),
      h("p", { role: "alert", class: "message error" }, analysis.error?.message ?? "Something went wrong while reading this photo."),
      h("p", {}, h("a", { href: "/", "data-link": true, class: "button" }, "Try another photo")),
    );
    return;
  }
  const reading = analysis.reading;
  if (!reading.quality.usable) {
    replace(main, h("h1", {}, "Let's take another photo"), retakeAdvice(reading), tryAgain());
    return;
  }
  if (reading.full_reading !== undefined || user?.is_guest) {
    replace(main, title, guestSummary(analysis, reading));
    return;
  }
  const hands = h("div", { class: reading.second_hand ? "hands two" : "hands" });
  append(hands, handReading(analysis, reading, 1));
  if (reading.second_hand) append(hands, handReading(analysis, reading.second_hand, 2));
  replace(
    main,
    title,
    h("p", { class: "lead summary" }, reading.summary),
    reading.comparison ? comparison(reading.comparison) : null,
    hands,
    h("p", { class: "disclaimer" }, reading.disclaimer),
  );
  append(main, await conversationsSection(analysis, user as User));
}

/** How the two hands differ, line by line. */
function comparison(c: NonNullable<Reading["comparison"]>) {
  return h(
    "section",
    { class: "comparison", "aria-labelledby": "comparison-title" },
    h("h2", { id: "comparison-title" }, "Your two hands compared"),
    h("p", {}, c.summary),
    h(
      "ul",
      {},
      ...c.lines.map((line) =>
        h(
          "li",
          { class: line.differs ? "differs" : "same" },
          h("strong", {}, `${line.english} (${line.hindi}): `),
          line.reading,
        ),
      ),
    ),
  );
}

function retakeAdvice(reading: Reading) {
  return h(
    "section",
    { class: "retake", "aria-labelledby": "retake-title" },
    h("h2", { id: "retake-title" }, "Why this photo could not be read"),
    h("ul", {}, ...reading.quality.advice.map((advice) => h("li", {}, advice))),
  );
}

function tryAgain() {
  return h("p", {}, h("a", { href: "/", "data-link": true, class: "button" }, "Upload a new photo"));
}

function guestSummary(analysis: Analysis, reading: Reading) {
  const invitation = h(
    "section",
    { class: "invite", "aria-labelledby": "invite-title" },
    h("h2", { id: "invite-title" }, "See your full reading"),
    h("p", {}, "Create a free account to see your hand shape, each of your lines drawn on your photo, the mounts, and guidance, to keep this reading and to ask questions about it."),
    signUpForm(() => go(`/readings/${encodeURIComponent(analysis.id)}`)),
  );
  return h(
    "div",
    { class: "guest" },
    h("p", { class: "lead summary" }, reading.summary),
    h("p", { class: "disclaimer" }, reading.disclaimer),
    invitation,
  );
}

/** One hand: the photo with its lines, then what each part says. */
function handReading(analysis: Analysis, reading: Reading, hand: 1 | 2) {
  const side = reading.hand?.side ? `${reading.hand.side[0].toUpperCase()}${reading.hand.side.slice(1)} hand` : hand === 1 ? "Your hand" : "Your other hand";
  const lines = (reading.lines ?? []).filter((line) => line.present);
  const figure = linesFigure(analysis, lines, hand, side);
  const list = h("ul", { class: "lines" });
  const select = (id: string | null) => {
    figure.highlight(id);
    for (const button of list.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.line === id));
    }
  };
  for (const line of reading.lines ?? []) {
    const head = line.present
      ? h(
          "button",
          { type: "button", class: `line-name line-${line.id}`, "data-line": line.id, "aria-pressed": "false", onclick: () => select(line.id) },
          `${line.english} `,
          h("span", { lang: "hi-Latn" }, `(${line.hindi})`),
        )
      : h("span", { class: "line-name absent" }, `${line.english} (${line.hindi})`);
    list.appendChild(h("li", {}, h("h4", {}, head), h("p", {}, line.reading)));
  }
  return h(
    "section",
    { class: "hand", "aria-label": side },
    h("h2", {}, side),
    figure.element,
    h(
      "div",
      { class: "hand-details" },
      reading.shape ? h("section", {}, h("h3", {}, `Hand shape: ${reading.shape.name ?? ""}`), h("p", {}, reading.shape.reading)) : null,
    h("section", {}, h("h3", {}, "The principal lines"), h("p", { class: "hint" }, "Choose a line to highlight it on the photo."), list),
    reading.fingers ? h("section", {}, h("h3", {}, "Fingers"), h("p", {}, reading.fingers.reading)) : null,
    reading.mounts?.length
      ? h(
          "section",
          {},
          h("h3", {}, "Mounts"),
          h("ul", { class: "mounts" }, ...reading.mounts.map((m) => h("li", {}, h("strong", {}, `${m.english} (${m.hindi}): `), m.reading))),
        )
      : null,
    reading.strengths?.length ? h("section", {}, h("h3", {}, "Strengths"), h("ul", {}, ...reading.strengths.map((s) => h("li", {}, s)))) : null,
      reading.guidance?.length ? h("section", {}, h("h3", {}, "Guidance"), h("ul", {}, ...reading.guidance.map((g) => h("li", {}, g)))) : null,
    ),
  );
}

/** The photo with each found line drawn over it in SVG; one can be highlighted. */
function linesFigure(analysis: Analysis, lines: Line[], hand: 1 | 2, label: string) {
  const query = hand === 2 ? "?hand=2" : "";
  const img = h("img", { src: `${analysis.links.image}${query}`, alt: `Photo of the ${label.toLowerCase()} with the lines found drawn on it` });
  const drawing = svg("svg", { viewBox: "0 0 1000 1000", preserveAspectRatio: "none", class: "line-layer", "aria-hidden": "true" });
  for (const line of lines) {
    const points = line.polyline.map(([x, y]) => `${Math.round(x * 1000)},${Math.round(y * 1000)}`).join(" ");
    drawing.appendChild(svg("polyline", { points, class: `trace line-${line.id}`, "data-line": line.id }));
  }
  const element = h("figure", { class: "photo" }, h("div", { class: "photo-frame" }, img, drawing));
  return {
    element,
    highlight(id: string | null) {
      for (const trace of drawing.querySelectorAll("polyline")) {
        trace.classList.toggle("selected", trace.getAttribute("data-line") === id);
        trace.classList.toggle("dimmed", id !== null && trace.getAttribute("data-line") !== id);
      }
    },
  };
}
