// Cameras: a grid of live pictures (latest.jpg at a low height, once a second) with each
// camera's fps and what it tracks; a camera that sends no frames says so.
import { el, every, getJSON, objectSummary, refreshImage } from "./api.js";

const HEIGHT = 270;
const REFRESH_MS = 1000;

export async function render(view) {
  const config = await getJSON("/api/config");
  const names = Object.keys(config.cameras);
  const cards = {};
  const grid = el("div", { class: "grid" });
  for (const name of names) {
    const picture = el("div", { class: "picture" }, el("div", { class: "offline" }, "Waiting for frames…"));
    const fps = el("span", { class: "fps" }, "");
    const objects = el("span", { class: "objects" }, "");
    cards[name] = { picture, fps, objects, img: null };
    grid.append(el("a", { class: "card camera", href: `#/camera/${encodeURIComponent(name)}`,
                          dataset: { camera: name } },
      picture, el("div", { class: "caption" }, el("strong", {}, name), fps, objects)));
  }
  view.replaceChildren(el("h1", {}, "Cameras"), names.length ? grid : el("p", { class: "note" }, "No cameras configured."));

  return every(REFRESH_MS, async () => {
    const stats = await getJSON("/api/stats");
    await Promise.all(names.map(async (name) => {
      const card = cards[name];
      const cameraFps = stats[name]?.camera_fps ?? 0;
      card.fps.textContent = `${cameraFps.toFixed(1)} fps`;
      if (cameraFps > 0) {
        if (!card.img) {
          card.img = el("img", { alt: `${name}, live` });
          card.picture.replaceChildren(card.img);
        }
        refreshImage(card.img, `/api/${encodeURIComponent(name)}/latest.jpg?h=${HEIGHT}&t=${Date.now()}`);
        card.objects.textContent = objectSummary(await getJSON(`/api/${encodeURIComponent(name)}/objects`));
      } else {
        card.img = null;
        card.picture.replaceChildren(el("div", { class: "offline" }, "Offline: no frames from this camera"));
        card.objects.textContent = "";
      }
    }));
  });
}
