// The router: #/ cameras, #/camera/<name>, #/events, #/event/<id>, #/recordings[/<path>],
// #/system. Each page renders into <main> and returns a function that stops its timers.
import { el } from "./api.js";
import * as cameras from "./cameras.js";
import * as camera from "./camera.js";
import * as events from "./events.js";
import * as eventDetail from "./event.js";
import * as recordings from "./recordings.js";
import * as system from "./system.js";

const routes = [
  [/^#?\/?$/, cameras, "cameras"],
  [/^#\/camera\/([^/]+)$/, camera, "cameras"],
  [/^#\/events(?:\?(.*))?$/, events, "events"],
  [/^#\/event\/([^/]+)$/, eventDetail, "events"],
  [/^#\/recordings(?:\/(.*))?$/, recordings, "recordings"],
  [/^#\/system$/, system, "system"],
];

let stopPage = () => {};
let shown = 0;  // which navigation the page on screen belongs to

async function show() {
  stopPage();
  stopPage = () => {};
  const navigation = ++shown;
  const view = document.getElementById("view");
  const hash = location.hash || "#/";
  const route = routes.find(([pattern]) => pattern.test(hash));
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", route !== undefined && link.dataset.page === route[2]);
  }
  if (!route) {
    view.replaceChildren(el("p", { class: "error" }, `No page at ${hash}.`));
    return;
  }
  const [pattern, page] = route;
  const argument = hash.match(pattern)[1] || "";  // raw: each page decodes its own
  view.replaceChildren(el("p", { class: "note" }, "Loading…"));
  // Each page renders into its own element, shown only if no later navigation came first.
  const pageView = el("div");
  let stop = () => {};
  try {
    stop = (await page.render(pageView, argument)) || (() => {});
  } catch (error) {
    pageView.replaceChildren(el("p", { class: "error" }, `Cannot show this page: ${error.message}`));
  }
  if (navigation !== shown) {
    stop();
    return;
  }
  stopPage = stop;
  view.replaceChildren(pageView);
}

window.addEventListener("hashchange", show);
show();
