// The first view: one photo, or the left and right hands; chosen by drag and drop, the
// file picker, or the camera on a phone; checked before sending.
import { api, explain } from "../api";
import { h, replace, status } from "../dom";
import { go } from "../router";
import { forget, me, setUser } from "../session";

const ACCEPTED = ["image/jpeg", "image/png", "image/webp"];

export function maxUploadBytes(): number {
  const meta = document.querySelector('meta[name="hast-max-upload-bytes"]');
  const value = Number(meta?.getAttribute("content"));
  return Number.isFinite(value) && value > 0 ? value : 10 * 1024 * 1024;
}

function megabytes(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
}

/** Why this file cannot be sent, or null. */
export function refusal(file: File): string | null {
  if (!ACCEPTED.includes(file.type)) {
    return `“${file.name}” is not a photo we can read. Please use a JPEG, PNG or WebP image.`;
  }
  if (file.size > maxUploadBytes()) {
    return `“${file.name}” is ${megabytes(file.size)}; photos can be at most ${megabytes(maxUploadBytes())}.`;
  }
  return null;
}

/** One slot for a photo: a drop zone with a picker and a camera button. */
function photoSlot(field: string, label: string, onChange: () => void) {
  let chosen: File | null = null;
  const id = `photo-${field}`;
  const name = h("span", { class: "file-name" }, "No photo chosen");
  const preview = h("img", { class: "preview", alt: "", hidden: true });
  const problem = status("error");
  const take = (file: File | undefined) => {
    if (!file) return;
    const why = refusal(file);
    if (why) {
      chosen = null;
      replace(problem, why);
      name.textContent = "No photo chosen";
      preview.hidden = true;
    } else {
      chosen = file;
      replace(problem);
      name.textContent = file.name;
      preview.src = URL.createObjectURL(file);
      preview.alt = `Preview of ${label.toLowerCase()}`;
      preview.hidden = false;
    }
    onChange();
  };
  const picker = h("input", {
    type: "file",
    id,
    accept: ACCEPTED.join(","),
    class: "visually-hidden",
    onchange: (e: Event) => take((e.target as HTMLInputElement).files?.[0]),
  });
  const camera = h("input", {
    type: "file",
    id: `${id}-camera`,
    accept: "image/*",
    capture: "environment",
    class: "visually-hidden",
    onchange: (e: Event) => take((e.target as HTMLInputElement).files?.[0]),
  });
  const zone = h(
    "div",
    { class: "drop-zone", "data-field": field },
    h("p", { class: "slot-label" }, label),
    preview,
    h("p", {}, "Drop a photo here, or"),
    h(
      "p",
      { class: "slot-buttons" },
      picker,
      h("label", { for: id, class: "button secondary" }, "Choose a photo"),
      camera,
      h("label", { for: `${id}-camera`, class: "button secondary camera" }, "Take a photo"),
    ),
    name,
    problem,
  );
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    take(e.dataTransfer?.files?.[0]);
  });
  return { zone, file: () => chosen };
}

export async function uploadView(_: Record<string, string>, main: HTMLElement): Promise<void> {
  const user = await me().catch(() => null);
  const message = status("error");
  const sending = status();
  let mode: "one" | "two" = "one";
  const submit = h("button", { type: "submit", class: "button", disabled: true }, "Read my palm");
  const refresh = () => {
    submit.disabled =
      mode === "one" ? !single.file() : !(left.file() || right.file());
  };
  const single = photoSlot("image", "Your palm", refresh);
  const left = photoSlot("left", "Left hand", refresh);
  const right = photoSlot("right", "Right hand", refresh);
  const slots = h("div", { class: "slots" }, single.zone);
  const choose = (next: "one" | "two") => {
    mode = next;
    replace(slots, ...(mode === "one" ? [single.zone] : [left.zone, right.zone]));
    slots.classList.toggle("two", mode === "two");
    refresh();
  };
  const modes = h(
    "fieldset",
    { class: "modes" },
    h("legend", {}, "What would you like to read?"),
    h(
      "label",
      {},
      h("input", { type: "radio", name: "mode", value: "one", checked: true, onchange: () => choose("one") }),
      " One palm",
    ),
    h(
      "label",
      {},
      h("input", { type: "radio", name: "mode", value: "two", onchange: () => choose("two") }),
      " Both hands (left and right)",
    ),
  );
  const form = h(
    "form",
    { class: "upload", novalidate: true },
    modes,
    slots,
    h("p", { class: "hint" }, "Hold your hand open, palm to the camera, in good light, filling most of the photo."),
    submit,
    sending,
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData();
    if (mode === "one") {
      const file = single.file();
      if (file) data.append("image", file);
    } else {
      const l = left.file();
      const r = right.file();
      if (l) data.append("left", l);
      if (r) data.append("right", r);
    }
    submit.disabled = true;
    replace(message);
    replace(sending, "Sending your photo…");
    try {
      const body = await api<{ analysis: { id: string } }>("POST", "/api/v1/analyses", data);
      if (!user) {
        // The upload made a guest session: ask who that is.
        forget();
        void me().then(setUser, () => undefined);
      }
      go(`/readings/${encodeURIComponent(body.analysis.id)}`);
    } catch (err) {
      replace(sending);
      replace(message, explain(err));
      refresh();
    }
  });
  replace(
    main,
    h("h1", {}, "Read your palm"),
    h(
      "p",
      { class: "lead" },
      "Upload a photo of your palm. Hast finds its shape and principal lines, draws them on your photo and tells you what palmistry (Hast Rekha Shastra) says of them.",
    ),
    user?.is_guest === false
      ? null
      : h("p", {}, "You can try it without an account; sign up to see the full reading and keep it."),
    form,
  );
}
