// The chat page: the conversation lives in this browser (localStorage); each
// turn sends it whole to the API and the answer streams in token by token.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const STORE = "genhub.chat";
  const form = document.querySelector("form[data-generate=text]");
  const list = document.querySelector("[data-messages]");
  const live = new GenHub.LivePanel(document.querySelector("[data-live]"));
  const SAMPLING = ["max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed"];
  let conversation = JSON.parse(localStorage.getItem(STORE) || "[]");
  let stream = null;

  function save() {
    localStorage.setItem(STORE, JSON.stringify(conversation));
  }

  function bubble(message) {
    const item = document.createElement("li");
    item.className = `message ${message.role}`;
    item.textContent = message.content;
    return item;
  }

  function render() {
    list.replaceChildren(...conversation.map(bubble));
    if (!conversation.length) {
      list.append(Object.assign(document.createElement("li"), {
        className: "empty", textContent: "Ask something to start a conversation.",
      }));
    }
  }

  document.querySelector("[data-clear]").addEventListener("click", () => {
    stream?.close();
    conversation = [];
    save();
    render();
    live.element.hidden = true;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = form.elements.message.value;
    const system = form.elements.system.value.trim();
    const asked = [...conversation, { role: "user", content: text }];
    const payload = {
      model: form.elements.model.value || undefined,
      messages: [...(system ? [{ role: "system", content: system }] : []), ...asked],
    };
    for (const name of SAMPLING) {
      const value = form.elements[name]?.value;
      if (value !== undefined && value !== "") payload[name] = Number(value);
    }
    const job = await GenHub.submit(form, payload);
    if (!job) return;
    conversation = asked;
    form.elements.message.value = "";
    const answer = { role: "assistant", content: "" };
    conversation.push(answer);
    save();
    render();
    const answerBubble = list.lastElementChild;
    answerBubble.classList.add("streaming");
    live.start(job);
    stream?.close();
    stream = new GenHub.JobStream(job.id, (e) => {
      live.update(e);
      if (e.type === "snapshot") answer.content = e.text || "";
      if (e.type === "started" || e.type === "requeued") answer.content = "";
      if (e.type === "token") answer.content += e.text;
      if (e.status === "succeeded" && e.result) answer.content = e.result.text;
      if (e.status === "cancelled" && e.result) answer.content = e.result.text;
      if (e.status === "failed") live.error(e.error);
      answerBubble.textContent = answer.content;
      if (GenHub.TERMINAL.has(e.status)) {
        answerBubble.classList.remove("streaming");
        live.element.hidden = e.status === "succeeded";
      }
      save();
      list.scrollTop = list.scrollHeight;
    });
  });

  form.elements.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  render();
});
