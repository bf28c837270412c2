// @ts-check
// Small DOM helpers shared by the views (no side effect on import).

/**
 * The element with this id (throws when the page has none).
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/** @param {string} id */
export const input = (id) => /** @type {HTMLInputElement} */ ($(id));
/** @param {string} id */
export const select = (id) => /** @type {HTMLSelectElement} */ ($(id));
/** @param {string} id */
export const button = (id) => /** @type {HTMLButtonElement} */ ($(id));

/**
 * Creates an element: attributes (`class`, `text` = textContent; false,
 * null and undefined are left out; true is an empty attribute) and children.
 * @param {string} tag
 * @param {Record<string, string | boolean | null | undefined>} [attrs]
 * @param {...(Node | string | null | undefined)} children
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = String(v);
    else if (k === "text") node.textContent = String(v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

/**
 * Shows `text` in an error element (hidden when empty).
 * @param {string} id
 * @param {string} text
 */
export function showError(id, text) {
  const node = $(id);
  node.textContent = text;
  node.hidden = !text;
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let toastTimer;
/** A short message at the bottom of the page. @param {string} text */
export function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 3500);
}

/**
 * @param {HTMLButtonElement} btn
 * @param {boolean} on
 */
export function busy(btn, on) {
  btn.disabled = on;
  btn.setAttribute("aria-busy", on ? "true" : "false");
}

/** Lets the browser paint (a spinner) before posting work. @returns {Promise<void>} */
export function nextFrame() {
  return new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
}

/**
 * Offers `data` as a download named `name`.
 * @param {string} name
 * @param {BlobPart} data
 * @param {string} type
 */
export function download(name, data, type) {
  const blob = new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Empties inputs (unchecks checkboxes). @param {...string} ids */
export function clearInputs(...ids) {
  for (const id of ids) {
    const i = input(id);
    if (i.type === "checkbox") i.checked = false;
    else i.value = "";
  }
}

/**
 * Adds `fn` as a listener of `type` on the element `id`.
 * @param {string} id
 * @param {string} type
 * @param {(ev: Event) => unknown} fn
 */
export function on(id, type, fn) {
  $(id).addEventListener(type, fn);
}
