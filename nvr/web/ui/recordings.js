// Recordings: the 24/7 segments, browsed month, day, hour, camera (the /recordings/ JSON
// listings), and played.
import { el, getJSON } from "./api.js";

const LEVELS = ["month", "day", "hour", "camera", "segment"];

export async function render(view, argument) {
  const parts = argument.split("/").filter(Boolean).map(decodeURIComponent);
  const path = parts.map(encodeURIComponent).join("/");
  const crumbs = [el("a", { href: "#/recordings" }, "all")];
  parts.forEach((part, index) => {
    crumbs.push(" / ", el("a", { href: `#/recordings/${parts.slice(0, index + 1).map(encodeURIComponent).join("/")}` }, part));
  });
  const heading = [el("h1", {}, "Recordings"), el("p", { class: "crumbs" }, ...crumbs)];

  if (parts.length === LEVELS.length) {
    const url = `/recordings/${path}`;
    view.replaceChildren(...heading,
      el("video", { class: "recording", controls: true, preload: "auto", src: url, style: "width:100%" }),
      el("p", {}, el("a", { href: url, download: parts.join("-") }, "download")));
    return;
  }
  const entries = await getJSON(`/recordings/${path}${path ? "/" : ""}`);
  const level = LEVELS[parts.length];
  const items = entries
    .filter((entry) => (level === "segment" ? entry.type === "file" : entry.type === "directory"))
    .sort((a, b) => (level === "camera" ? a.name.localeCompare(b.name) : b.name.localeCompare(a.name)));
  view.replaceChildren(...heading,
    items.length
      ? el("ul", { class: "listing", dataset: { level } }, items.map((entry) => el("li", {},
          el("a", { href: `#/recordings/${[...parts, entry.name].map(encodeURIComponent).join("/")}` },
            level === "hour" ? `${entry.name}:00` : entry.name.replace(/\.mp4$/, "")))))
      : el("p", { class: "note" }, parts.length ? "Nothing here." : "No recordings yet (cameras with record enabled keep them here)."));
}
