// The image page: size presets within the model's limits, the model's defaults,
// the dice, live steps and previews, the gallery and "use these settings".
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-generate=image]");
  const previewPanel = document.querySelector("[data-preview-panel]");
  const preview = document.querySelector("[data-preview]");
  const gallery = document.querySelector("[data-gallery]");
  const viewer = document.querySelector("[data-viewer]");
  const presets = form.querySelector("[data-size-preset]");
  const jobs = new GenHub.LiveJobs(document.querySelector("[data-live]"), onEvent, {
    done: (event) => `${event.result?.images?.length ?? 0} image(s)`,
  });
  let shownRecord = null;

  function chosenModel() {
    return form.elements.model.selectedOptions[0];
  }

  // Offer only the sizes the chosen model can make (its max_width, max_height).
  function applyModelLimits() {
    const model = chosenModel();
    const limits = JSON.parse(model?.dataset.limits || "{}");
    const maxWidth = Number(limits.width) || 4096;
    const maxHeight = Number(limits.height) || 4096;
    const chosen = presets.value;
    const fitting = JSON.parse(presets.dataset.presets)
      .filter(([width, height]) => width <= maxWidth && height <= maxHeight)
      .map(([width, height]) => new Option(`${width} × ${height}`, `${width}x${height}`));
    presets.replaceChildren(
      new Option("Model default", ""), ...fitting, new Option("Custom", "custom"));
    presets.value = [...presets.options].some((o) => o.value === chosen) ? chosen : "";
    form.elements.width.max = maxWidth;
    form.elements.height.max = maxHeight;
  }

  // Another model: sizes within its limits, and its own size (genhub.js puts its
  // other defaults in the settings).
  form.elements.model.addEventListener("change", () => {
    applyModelLimits();
    presets.value = "";
    form.elements.width.value = "";
    form.elements.height.value = "";
  });
  presets.addEventListener("change", (event) => {
    const [width, height] = event.target.value.split("x");
    if (event.target.value === "custom") return form.elements.width.focus();
    form.elements.width.value = width || "";
    form.elements.height.value = height || "";
  });
  // A form filled in by "Use these settings" (?from=<job>) comes with a size: show
  // its preset, or "Custom".
  if (form.elements.width.value && form.elements.height.value) {
    const size = `${form.elements.width.value}x${form.elements.height.value}`;
    presets.value = [...presets.options].some((o) => o.value === size) ? size : "custom";
  }
  form.querySelector("[data-dice]").addEventListener("click", () => {
    form.elements.seed.value = Math.floor(Math.random() * 2 ** 32);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const job = await GenHub.submit(form);
    if (job) jobs.follow(job);
  });

  function onEvent(event, job) {
    if (jobs.shows(job.id)) {
      if (event.type === "started" || event.type === "snapshot") previewPanel.hidden = true;
      if (event.preview) {
        preview.src = event.preview;
        previewPanel.hidden = false;
      }
      if (GenHub.TERMINAL.has(event.status)) previewPanel.hidden = true;
    }
    if (event.status === "succeeded" && event.result) {
      gallery.querySelector("[data-empty]")?.remove();
      for (const image of [...event.result.images].reverse()) gallery.prepend(tile(image, job.id));
    }
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
    if (form.elements.model && record.model) {
      form.elements.model.value = record.model;
      applyModelLimits();
    }
    for (const key of ["prompt", "negative_prompt", "steps", "guidance_scale", "width",
      "height", "seed", "strength"]) {
      if (form.elements[key] && record[key] !== undefined) form.elements[key].value = record[key];
    }
    const scheduler = form.elements.scheduler;
    if (scheduler) {
      const named = [...scheduler.options].some((o) => o.value === record.scheduler);
      scheduler.value = named ? record.scheduler : "";
    }
    form.elements.num_images.value = 1;
    presets.value = "custom";
    viewer.close();
    form.elements.prompt.focus();
  });

  jobs.followListed();
});
