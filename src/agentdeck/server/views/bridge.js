// Shared by every agentdeck view: the MCP Apps bridge to the host (JSON-RPC over
// postMessage), the host's theme and display mode, safe DOM building and a small safe
// Markdown renderer. Nothing here fetches anything: the view reaches agentdeck only by
// asking the host to call its tools.
"use strict";

const bridge = (() => {
  let nextId = 1;
  const waiting = new Map();
  const handlers = {};
  let context = {};

  function post(message) {
    window.parent.postMessage({ jsonrpc: "2.0", ...message }, "*");
  }

  function request(method, params) {
    const id = nextId++;
    post({ id, method, params });
    return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
  }

  function notify(method, params) {
    post({ method, params: params || {} });
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const message = event.data;
    if (!message || message.jsonrpc !== "2.0") return;
    if (message.method === undefined) {
      const pending = waiting.get(message.id);
      if (!pending) return;
      waiting.delete(message.id);
      if (message.error) pending.reject(new Error(message.error.message || "the host refused"));
      else pending.resolve(message.result);
      return;
    }
    if (message.id !== undefined) post({ id: message.id, result: {} }); // ping, teardown
    const handler = handlers[message.method];
    if (handler) handler(message.params || {});
  });

  function applyContext(update) {
    context = { ...context, ...update };
    const root = document.documentElement;
    if (context.theme) {
      root.dataset.theme = context.theme;
      root.style.colorScheme = context.theme;
    }
    root.dataset.display = context.displayMode || "inline";
    const variables = (context.styles && context.styles.variables) || {};
    for (const [name, value] of Object.entries(variables)) {
      if (name.startsWith("--") && typeof value === "string") root.style.setProperty(name, value);
    }
  }
  handlers["ui/notifications/host-context-changed"] = applyContext;

  function textOf(result) {
    return (result.content || [])
      .map((block) => block.text || "")
      .join(" ")
      .trim();
  }

  return {
    on(method, handler) {
      handlers[method] = handler;
    },
    get context() {
      return context;
    },
    async start(name) {
      const result = await request("ui/initialize", {
        appInfo: { name: `agentdeck-${name}`, version: "1" },
        appCapabilities: { availableDisplayModes: ["inline", "fullscreen"] },
        protocolVersion: "2026-01-26",
      });
      applyContext((result && result.hostContext) || {});
      notify("ui/notifications/initialized");
      let last = "";
      new ResizeObserver(() => {
        const size = {
          width: Math.ceil(document.documentElement.scrollWidth),
          height: Math.ceil(document.documentElement.scrollHeight),
        };
        const key = `${size.width}x${size.height}`;
        if (key !== last) notify("ui/notifications/size-changed", size);
        last = key;
      }).observe(document.documentElement);
    },
    // One of agentdeck's tools, through the host; a tool error becomes an Error with its text.
    async call(name, args) {
      const result = await request("tools/call", { name, arguments: args });
      if (result.isError) throw new Error(textOf(result) || `${name} failed`);
      return result.structuredContent || {};
    },
    openLink(url) {
      return request("ui/open-link", { url }).catch(() => undefined);
    },
    textOf,
  };
})();

// h("p", { class: "x", onclick: f }, "text", child): an element whose text is always text.
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function escapeHtml(text) {
  return String(text)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

// Markdown, safely: everything is escaped first, then a few constructs are recognised in
// the escaped text (fenced and inline code, headings, lists, quotes, bold, italics, and
// http(s) links). No HTML the agent wrote ever becomes markup.
function markdown(source) {
  const blocks = [];
  const fenced = String(source || "").replaceAll("\u0000", "").replace(/```[^\n]*\n([\s\S]*?)(?:```|$)/g, (_, code) => {
    blocks.push(`<pre><code>${escapeHtml(code.replace(/\n$/, ""))}</code></pre>`);
    return `\u0000${blocks.length - 1}\u0000`;
  });
  const inline = (text) =>
    escapeHtml(text)
      .replace(/`([^`]+)`/g, "<code>$1</code>")
      .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
      .replace(/(^|[^*\w])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
      .replace(
        /\[([^\]]+)\]\((https?:\/\/[^\s)"]+)\)/g,
        '<a href="$2" rel="noopener noreferrer">$1</a>',
      );
  const html = [];
  let list = null;
  const closeList = () => {
    if (list) html.push(`</${list}>`);
    list = null;
  };
  let paragraph = [];
  const closeParagraph = () => {
    if (paragraph.length) html.push(`<p>${paragraph.map(inline).join("<br>")}</p>`);
    paragraph = [];
  };
  for (const line of fenced.split("\n")) {
    const block = line.match(/^\u0000(\d+)\u0000$/);
    const heading = line.match(/^(#{1,4})\s+(.*)$/);
    const item = line.match(/^\s*(?:([-*+])|(\d+)[.)])\s+(.*)$/);
    const quote = line.match(/^>\s?(.*)$/);
    if (block || heading || quote || !line.trim()) {
      closeParagraph();
      closeList();
    }
    if (block) html.push(blocks[Number(block[1])]);
    else if (heading) html.push(`<h${heading[1].length + 2}>${inline(heading[2])}</h${heading[1].length + 2}>`);
    else if (quote) html.push(`<blockquote>${inline(quote[1])}</blockquote>`);
    else if (item) {
      closeParagraph();
      const kind = item[1] ? "ul" : "ol";
      if (list !== kind) {
        closeList();
        html.push(`<${kind}>`);
        list = kind;
      }
      html.push(`<li>${inline(item[3])}</li>`);
    } else if (line.trim()) paragraph.push(line);
  }
  closeParagraph();
  closeList();
  return html.join("");
}

// An element showing ``text`` as Markdown; its links open through the host.
function markdownBlock(text, className) {
  const element = h("div", { class: `markdown ${className || ""}` });
  element.innerHTML = markdown(text);
  for (const link of element.querySelectorAll("a")) {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      bridge.openLink(link.href);
    });
  }
  return element;
}

function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const { locale, timeZone } = bridge.context;
  try {
    return date.toLocaleString(locale || undefined, timeZone ? { timeZone } : undefined);
  } catch {
    return date.toLocaleString(); // a locale or time zone this browser does not know
  }
}

// A button that runs ``action`` once at a time, showing errors in ``status``.
function actionButton(label, action, options) {
  const button = h("button", { type: "button", class: (options && options.class) || "" }, label);
  button.addEventListener("click", async () => {
    if (button.disabled) return;
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      showStatus(error.message, "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function showStatus(text, kind) {
  const status = document.getElementById("status");
  if (!status) return;
  status.textContent = text || "";
  status.className = `status ${kind || ""}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Follows a chat run through get_run until it ends, calling ``onRun`` with each state.
// While it waits on a person it is only looked at now and then, or, ``untilPaused``, left.
async function followRun(run, onRun, untilPaused) {
  while (run && run.status === "running") {
    const paused = (run.pending_approvals || []).length || (run.pending_questions || []).length;
    if (paused && untilPaused) break;
    if (paused) await sleep(1500);
    run = await bridge.call("get_run", { run_id: run.run_id, wait_seconds: paused ? 0 : 1 });
    onRun(run);
  }
  return run;
}

// Starts the view: each tool result the host sends is shown with ``show`` (an error as the
// status line).
function startView(name, show) {
  bridge.on("ui/notifications/tool-result", (result) => {
    if (result.isError) showStatus(bridge.textOf(result), "error");
    else show(result.structuredContent || {});
  });
  bridge.start(name).catch((error) => showStatus(error.message, "error"));
}
