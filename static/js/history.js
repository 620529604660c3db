// The history gallery and the job page's Delete: "Select all" ticks this page's
// cards here rather than reloading, and deleting asks in a dialog, then sends
// the confirmation at once. Without JavaScript the same links and forms work:
// "Select all" reloads with every card ticked, and the server asks on a page.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const boxes = () => [...document.querySelectorAll("input[name=ids][type=checkbox]")];

  const selectAll = document.querySelector("[data-select-all]");
  selectAll?.addEventListener("click", (event) => {
    event.preventDefault();
    const all = boxes();
    const tick = !all.every((box) => box.checked); // a second click clears them
    for (const box of all) box.checked = tick;
    selectAll.textContent = tick ? "Select none" : "Select all";
  });

  for (const form of document.querySelectorAll("form[data-delete-jobs]")) {
    form.addEventListener("submit", (event) => {
      const ids = form.querySelectorAll("input[name=ids]:checked, input[name=ids][type=hidden]");
      if (ids.length === 0) {
        event.preventDefault();
        window.alert("Select the jobs to delete first.");
        return;
      }
      const what = ids.length === 1 ? "this job and its files" : `${ids.length} jobs and their files`;
      if (!window.confirm(`Delete ${what}? This cannot be undone.`)) {
        event.preventDefault();
        return;
      }
      const confirmed = Object.assign(document.createElement("input"), {
        type: "hidden", name: "confirm", value: "yes",
      });
      form.append(confirmed);
    });
  }
});
