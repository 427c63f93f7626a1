// Small DOM helpers shared by the views. No innerHTML anywhere: every
// piece of text goes in as a text node, so nothing from the API can become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

let ids = 0;
export const uid = (prefix) => `${prefix}-${++ids}`;

// A labelled form control: the label is always there (WCAG 1.3.1 / 4.1.2).
export function field(label, control, hint) {
  control.id ||= uid("f");
  const hintEl = hint ? h("p", { class: "hint", id: uid("hint") }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintEl);
}

// A table that scrolls sideways on phones, reachable by keyboard. Its name is a
// caption, or (given the element) a heading already above it, not said twice.
export function table(caption, headers, rows, { numeric = [], className = null } = {}) {
  const named = typeof caption === "string"
    ? { "aria-label": caption } : { "aria-labelledby": caption.id };
  return h("div", { class: "table-wrap", tabindex: 0, role: "region", ...named },
    h("table", { class: className, ...(typeof caption === "string" ? {} : named) },
      typeof caption === "string" ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((text, i) =>
        h("th", { scope: "col", class: numeric.includes(i) ? "num" : null }, text)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, row.map((cell, i) =>
        h("td", { class: numeric.includes(i) ? "num" : null }, cell)))))));
}

export function download(filename, content, type) {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function copyText(text, statusEl) {
  try {
    await navigator.clipboard.writeText(text);
    statusEl.textContent = `Copied ${text}`;
  } catch {
    statusEl.textContent = "Copying is blocked here; select the address and copy it.";
  }
}

// A classic script or a stylesheet of this origin, added once, when a view first
// needs it (the CSP allows 'self'): the sign-in page never loads the chart library.
const loaded = new Map();
export function loadOnce(url) {
  if (!loaded.has(url)) {
    loaded.set(url, new Promise((resolve, reject) => {
      const el = url.endsWith(".css") ? h("link", { rel: "stylesheet", href: url })
        : h("script", { src: url });
      el.addEventListener("load", resolve);
      el.addEventListener("error", () => { loaded.delete(url); reject(new Error(`${url} did not load`)); });
      document.head.append(el);
    }));
  }
  return loaded.get(url);
}
