// Markdown for model answers, drawn in the browser: markdown-it (html: false, so
// HTML a model writes is shown as text), DOMPurify over its output anyway (it
// sanitises what the browser will parse), highlight.js for code blocks, all from
// /static/vendor/ (scripts/vendor-js). Why in the browser: docs/conversations.md.
//
// While an answer streams, LiveMarkdown draws it at most once per animation
// frame, and only the top-level blocks that changed are replaced: the finished
// blocks above stay the same DOM nodes, and a half-written code fence is a code
// block that grows (markdown-it closes an open fence at the end of the text).
"use strict";

const GenHubMarkdown = (() => {
  const LINK_REL = "noopener noreferrer nofollow";

  function highlighted(code, info) {
    const lang = (info || "").trim().split(/\s+/)[0].toLowerCase();
    const known = /^[\w+#.-]+$/.test(lang) && window.hljs.getLanguage(lang);
    const body = known
      ? window.hljs.highlight(code, { language: lang, ignoreIllegals: true }).value
      : markdown.utils.escapeHtml(code);
    return `<pre><code class="hljs${known ? ` language-${lang}` : ""}">${body}</code></pre>`;
  }

  const markdown = window.markdownit({ html: false, linkify: true, highlight: highlighted });
  // A model's image would be fetched from wherever it points: shown as text instead.
  markdown.disable("image");

  window.DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", LINK_REL);
    }
  });

  function toHtml(source) {
    return window.DOMPurify.sanitize(markdown.render(source), {
      FORBID_TAGS: ["style", "img", "form", "input", "button", "textarea", "select"],
      ADD_ATTR: ["target"],
    });
  }

  // Copy text: the async clipboard where the page may use it (https, localhost),
  // else a selected textarea and execCommand (a plain-http address on a LAN).
  async function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch (error) {
        // denied: try the old way
      }
    }
    const area = Object.assign(document.createElement("textarea"), { value: text, readOnly: true });
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }
    area.remove();
    return done;
  }

  // A "Copy" button that says "Copied" for a moment; `name` is its accessible name.
  function copyButton(name, text, className = "small") {
    const button = Object.assign(document.createElement("button"), { type: "button", className, textContent: "Copy" });
    button.setAttribute("aria-label", name);
    button.dataset.copy = "";
    button.addEventListener("click", async () => {
      const done = await copy(text());
      button.textContent = done ? "Copied" : "Copy failed";
      clearTimeout(button.reset);
      button.reset = setTimeout(() => (button.textContent = "Copy"), 1500);
    });
    return button;
  }

  // A code block gets its own Copy button, beside the block so it is not part of the code.
  function withCodeCopy(block) {
    const blocks = block.matches("pre") ? [block] : [...block.querySelectorAll("pre")];
    let outer = block;
    for (const pre of blocks) {
      const frame = document.createElement("div");
      frame.className = "code-block";
      pre.replaceWith(frame);
      frame.append(pre, copyButton("Copy code", () => pre.textContent, "small code-copy"));
      if (pre === block) outer = frame;
    }
    return outer;
  }

  class LiveMarkdown {
    constructor(element) {
      this.element = element;
      this.source = null;
      this.pending = "";
      this.frame = 0;
      this.drawn = [];  // [html of the block as rendered, its node on the page]
      element.classList.add("markdown");
    }

    // Draw `source`, still being written, at the next animation frame (later
    // calls in the same frame win). A last line of one or two backticks (or
    // tildes) is held back: it is most likely a fence on its way, and drawn now it
    // would flash as text, or as code inside the block it is about to close.
    set(source) {
      this.pending = source.replace(/(^|\n) {0,3}(`{1,2}|~{1,2})$/, "$1");
      if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
    }

    // Draw `source` now.
    now(source) {
      this.pending = source;
      this.flush();
    }

    flush() {
      if (this.frame) cancelAnimationFrame(this.frame);
      this.frame = 0;
      if (this.pending === this.source) return;
      if (this.source === null) this.element.replaceChildren();
      this.source = this.pending;
      const fresh = document.createElement("template");
      fresh.innerHTML = toHtml(this.source);
      const blocks = [...fresh.content.children];
      const drawn = [];
      blocks.forEach((block, index) => {
        const html = block.outerHTML;
        const before = this.drawn[index];
        if (before && before[0] === html) {
          drawn.push(before);
          return;
        }
        const node = withCodeCopy(block);
        if (before) before[1].replaceWith(node);
        else this.element.append(node);
        drawn.push([html, node]);
      });
      for (const [, node] of this.drawn.slice(blocks.length)) node.remove();
      this.drawn = drawn;
    }
  }

  return { LiveMarkdown, copy, copyButton, toHtml };
})();
