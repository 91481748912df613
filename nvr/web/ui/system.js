// System: /api/stats as a live table, the version, the resolved config (the API leaves out
// credentials) and the recent warnings of the log.
import { el, every, formatTime, getJSON } from "./api.js";

const CAMERA_FIGURES = ["camera_fps", "process_fps", "skipped_fps", "detection_fps"];

function table(head, rows) {
  return el("div", { class: "scroll" }, el("table", { class: "stats" },
    el("thead", {}, el("tr", {}, head.map((name) => el("th", {}, name)))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((cell) => el("td", {}, String(cell))))))));
}

function uptime(seconds) {
  const days = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return `${days ? `${days} d ` : ""}${hours} h ${minutes} min`;
}

export async function render(view) {
  const [version, config] = await Promise.all([
    fetch("/api/version").then((response) => response.text()), getJSON("/api/config")]);
  const live = el("div", { class: "live-stats" });
  const warnings = el("ul", { class: "logs" });
  view.replaceChildren(el("h1", {}, "System"), el("p", { class: "version" }, `nvr ${version}`),
    live, el("h2", {}, "Recent warnings"), warnings,
    el("h2", {}, "Configuration"), el("pre", { class: "config" }, JSON.stringify(config, null, 2)));

  return every(2000, async () => {
    const [stats, logs] = await Promise.all([getJSON("/api/stats"), getJSON("/api/logs")]);
    const cameras = Object.keys(stats).filter((key) => !["detection_fps", "detectors", "service"].includes(key));
    const { service } = stats;
    const parts = [
      el("h2", {}, "Cameras"),
      table(["camera", ...CAMERA_FIGURES], cameras.map((name) => [name, ...CAMERA_FIGURES.map((key) => stats[name][key])])),
      el("h2", {}, "Detectors"),
      table(["detector", "inference ms", "detection fps (all cameras)"],
        Object.entries(stats.detectors).map(([name, detector]) => [name, detector.inference_speed, stats.detection_fps])),
      el("h2", {}, "Storage"),
      table(["folder", "used MB", "free MB", "total MB", "type"],
        Object.entries(service.storage).map(([path, disk]) => [path, disk.used, disk.free, disk.total, disk.mount_type])),
      el("p", { class: "uptime" }, `Up ${uptime(service.uptime)}.`),
    ];
    if (service.mqtt) {
      parts.push(el("p", { class: "mqtt" }, `MQTT: ${service.mqtt.connected ? "connected" : "not connected"}, `
        + `${service.mqtt.sent} messages sent, ${service.mqtt.dropped} dropped.`));
    }
    live.replaceChildren(...parts);
    warnings.replaceChildren(...(logs.length
      ? logs.slice(-50).reverse().map((record) => el("li", { class: `level-${record.level}` },
          `${formatTime(record.time)} ${record.logger}: ${record.message}`))
      : [el("li", { class: "note" }, "No warnings.")]));
  });
}
