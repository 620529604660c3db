// The job page: while the job runs, follow it live; when it ends, reload so the
// server shows the whole result (the same page works with JavaScript off).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const page = document.querySelector("[data-job-page]");
  if (!page || GenHub.TERMINAL.has(page.dataset.status)) return;
  const status = page.querySelector("[data-job-status]");
  const bar = page.querySelector("[data-progress]");
  const steps = page.querySelector("[data-steps]");
  const preview = page.querySelector("[data-preview]");
  const streamed = page.querySelector("[data-streamed]");
  let text = "";
  // Bytes of the model so far: the job's own download, or the one before a generation.
  const mb = (bytes) => (Number(bytes) / 1e6).toFixed(1);
  const downloaded = (event) =>
    page.dataset.kind === "download"
      ? `Downloading: ${mb(event.step)} MB of ${mb(event.total)} MB`
      : `Downloading the model: ${mb(event.step)} of ${mb(event.total)} MB`;

  // A running job's ETA follows its events ("About 2 min left.", as genhub/eta.py
  // words it); `eta_seconds`, not `eta`, so this browser's clock does not matter.
  const eta = page.querySelector("[data-eta]");
  let endsAt = null;
  const about = (seconds) =>
    seconds < 60
      ? "less than a minute"
      : seconds < 5400
        ? `about ${Math.round(seconds / 60)} min`
        : `about ${Math.round(seconds / 3600)} h`;
  const showEta = () => {
    if (endsAt === null) return;
    const left = about((endsAt - Date.now()) / 1000);
    eta.textContent = `${left[0].toUpperCase()}${left.slice(1)} left.`;
  };
  setInterval(showEta, 5000);

  new GenHub.JobStream(page.dataset.jobPage, (event) => {
    if (event.status === "running" && "eta_basis" in event) {
      endsAt = event.eta_seconds === null ? null : Date.now() + event.eta_seconds * 1000;
      if (endsAt === null) eta.textContent = `No estimate yet (${event.eta_basis}).`;
      showEta();
    } else if (event.type === "requeued") {
      endsAt = null; // waiting again: the next `started` brings a new estimate
      eta.textContent = "";
    }
    status.textContent = event.status;
    status.className = `status ${event.status}`;
    if (typeof event.progress === "number") bar.value = event.progress;
    if (event.step && event.unit === "bytes") steps.textContent = downloaded(event);
    else if (event.step) steps.textContent = `Step ${event.step} of ${event.total}`;
    else if (event.status !== "queued") steps.textContent = ""; // no longer "#1 in queue"
    if (event.preview) {
      preview.src = event.preview;
      preview.hidden = false;
    }
    if (event.type === "snapshot") text = event.text || "";
    if (event.type === "started") text = "";
    if (event.type === "token") text += event.text;
    if (text) {
      streamed.textContent = text;
      streamed.hidden = false;
    }
    if (GenHub.TERMINAL.has(event.status)) location.reload();
  });
});
