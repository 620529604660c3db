// The audio page: progress by frame, then a player with the waveform.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-generate=audio]");
  const clips = document.querySelector("[data-clips]");
  const jobs = new GenHub.LiveJobs(document.querySelector("[data-live]"), onEvent, {
    unit: "Frame",
    done: () => "Done",
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const job = await GenHub.submit(form);
    if (job) jobs.follow(job);
  });

  function onEvent(event, job) {
    if (event.status === "succeeded" && event.result) {
      clips.querySelector("[data-empty]")?.remove();
      for (const clip of event.result.clips) clips.prepend(figure(clip, job));
    }
  }

  function figure(clip, job) {
    const element = document.createElement("figure");
    element.className = "clip";
    const caption = document.createElement("figcaption");
    const link = Object.assign(document.createElement("a"), {
      href: `/jobs/${job.id}/`, textContent: job.prompt.slice(0, 60),
    });
    caption.append(link, ` · ${clip.duration_seconds} s · seed ${clip.seed}`);
    const waveform = Object.assign(document.createElement("img"), {
      className: "waveform", src: clip.thumbnail_url, alt: "Waveform",
    });
    const player = Object.assign(document.createElement("audio"), {
      controls: true, preload: "metadata", src: clip.url,
    });
    const download = Object.assign(document.createElement("a"), {
      href: clip.url, textContent: `Download ${clip.format.toUpperCase()}`,
    });
    download.setAttribute("download", "");
    element.append(caption, waveform, player, download);
    return element;
  }

  jobs.followListed();
});
