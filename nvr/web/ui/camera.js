// One camera: the live debug stream (MJPEG) with its six overlays, height and fps, what it
// tracks now and the best image of each tracked label.
import { el, every, getJSON, objectSummary, percent, query, refreshImage } from "./api.js";

const OVERLAYS = [
  ["bbox", "boxes"], ["timestamp", "timestamp"], ["zones", "zones"],
  ["mask", "motion mask"], ["motion", "motion"], ["regions", "regions"],
];
const HEIGHTS = [180, 270, 360, 480, 720, 1080];
const RATES = [1, 3, 5, 10];

export async function render(view, argument) {
  const name = decodeURIComponent(argument);
  const config = (await getJSON("/api/config")).cameras[name];
  if (!config) {
    view.replaceChildren(el("p", { class: "error" }, `No camera named ${name}.`));
    return;
  }
  const path = `/api/${encodeURIComponent(name)}`;
  // The API's default height (360 at most), as one of the choices.
  const height = HEIGHTS.filter((h) => h <= Math.min(360, config.height)).pop() ?? HEIGHTS[0];
  const settings = { h: height, fps: 3, bbox: 1 };
  const live = el("img", { class: "live-view", alt: `${name}, live debug view` });
  const showStream = () => { live.src = `${path}?${query(settings)}`; };

  const toggles = OVERLAYS.map(([flag, label]) => el("label", {},
    el("input", { type: "checkbox", name: flag, checked: Boolean(settings[flag]),
                  onchange: (event) => { settings[flag] = event.target.checked ? 1 : ""; showStream(); } }),
    label));
  const choice = (key, values, unit) => el("label", {}, `${key === "h" ? "height" : "fps"} `,
    el("select", { name: key, onchange: (event) => { settings[key] = event.target.value; showStream(); } },
      values.filter((value) => key !== "h" || value <= 4 * config.height).map((value) =>
        el("option", { value, selected: String(value) === String(settings[key]) }, `${value}${unit}`))));

  const tracked = el("p", { class: "objects note" }, "");
  const best = el("div", { class: "best" });
  const bestImages = config.objects.track.map((label) => {
    const img = el("img", { alt: `best ${label}` });
    best.append(el("figure", {}, img, el("figcaption", {}, label)));
    return [label, img];
  });

  view.replaceChildren(
    el("h1", {}, name),
    el("div", { class: "controls" }, ...toggles, choice("h", HEIGHTS, " px"), choice("fps", RATES, " fps")),
    live, tracked,
    el("h2", {}, "Best image per label"), best,
  );
  showStream();
  // A hidden tab closes the stream (the service stops encoding for it) and reopens it after.
  const visibility = () => { if (document.hidden) live.removeAttribute("src"); else showStream(); };
  document.addEventListener("visibilitychange", visibility);

  const stop = every(2000, async () => {
    const objects = await getJSON(`${path}/objects`);
    tracked.textContent = objects.length
      ? `Tracking: ${objectSummary(objects)} (${objects.map((o) => `${o.label} ${percent(o.score)}`).join(", ")})`
      : "Tracking nothing right now.";
    for (const [label, img] of bestImages) {
      refreshImage(img, `${path}/${encodeURIComponent(label)}/best.jpg?h=160&crop=1&t=${Date.now()}`);
    }
  });
  return () => {
    stop();
    document.removeEventListener("visibilitychange", visibility);
    live.removeAttribute("src");  // closes the stream
  };
}
