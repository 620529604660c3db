// The image page: size presets, the dice, live steps and previews, the gallery
// and "use these settings".
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-generate=image]");
  const live = new GenHub.LivePanel(document.querySelector("[data-live]"));
  const previewPanel = document.querySelector("[data-preview-panel]");
  const preview = document.querySelector("[data-preview]");
  const gallery = document.querySelector("[data-gallery]");
  const viewer = document.querySelector("[data-viewer]");
  let shownRecord = null;
  let stream = null;

  form.querySelector("[data-size-preset]").addEventListener("change", (event) => {
    const [width, height] = event.target.value.split("x");
    if (event.target.value === "custom") return form.elements.width.focus();
    form.elements.width.value = width || "";
    form.elements.height.value = height || "";
  });
  form.querySelector("[data-dice]").addEventListener("click", () => {
    form.elements.seed.value = Math.floor(Math.random() * 2 ** 32);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const job = await GenHub.submit(form);
    if (!job) return;
    stream?.close();
    live.start(job);
    previewPanel.hidden = true;
    stream = new GenHub.JobStream(job.id, (e) => onEvent(e));
  });

  function onEvent(event) {
    live.update(event);
    if (event.step) live.steps(`Step ${event.step} of ${event.total}`);
    if (event.preview) {
      preview.src = event.preview;
      previewPanel.hidden = false;
    }
    if (event.status === "succeeded" && event.result) {
      previewPanel.hidden = true;
      live.steps(`${event.result.images.length} image(s)`);
      gallery.querySelector("[data-empty]")?.remove();
      for (const image of [...event.result.images].reverse()) gallery.prepend(tile(image, event.job));
    }
    if (event.status === "failed") live.error(event.error);
    if (event.status === "cancelled") live.steps("Stopped");
  }

  function tile(image, jobId) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "tile";
    button.dataset.openImage = "";
    button.dataset.artifact = image.artifact;
    button.dataset.url = image.url;
    button.dataset.job = jobId;
    const img = Object.assign(document.createElement("img"), {
      src: image.thumbnail_url, alt: `Seed ${image.seed}`, width: 256, height: 256,
    });
    button.append(img);
    return button;
  }

  gallery.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-open-image]");
    if (!button) return;
    let record = button.dataset.record ? JSON.parse(button.dataset.record) : null;
    if (!record) {
      const { data } = await GenHub.call("GET", `/artifacts/${button.dataset.artifact}`);
      record = data.record;
    }
    shownRecord = record;
    viewer.querySelector("[data-viewer-image]").src = button.dataset.url;
    viewer.querySelector("[data-viewer-job]").href = `/jobs/${button.dataset.job}/`;
    viewer.querySelector("[data-viewer-download]").href = button.dataset.url;
    const list = viewer.querySelector("[data-viewer-record]");
    list.replaceChildren();
    for (const key of ["prompt", "negative_prompt", "model", "scheduler", "steps",
      "guidance_scale", "width", "height", "seed", "strength"]) {
      if (record[key] === undefined || record[key] === "") continue;
      list.append(Object.assign(document.createElement("dt"), { textContent: key }));
      list.append(Object.assign(document.createElement("dd"), { textContent: record[key] }));
    }
    viewer.showModal();
  });

  viewer.querySelector("[data-use-settings]").addEventListener("click", () => {
    const record = shownRecord;
    for (const key of ["prompt", "negative_prompt", "steps", "guidance_scale", "width",
      "height", "seed", "strength"]) {
      if (form.elements[key] && record[key] !== undefined) form.elements[key].value = record[key];
    }
    const scheduler = form.elements.scheduler;
    if (scheduler) {
      const named = [...scheduler.options].some((o) => o.value === record.scheduler);
      scheduler.value = named ? record.scheduler : "";
    }
    if (form.elements.model) form.elements.model.value = record.model;
    form.elements.num_images.value = 1;
    form.querySelector("[data-size-preset]").value = "custom";
    viewer.close();
    form.elements.prompt.focus();
  });
});
