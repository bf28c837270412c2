// @ts-check
// Forgetting what the seed forms held: the new seed's shown words, the
// typed-back words, the import form; and the Back buttons that leave them.

import { $, clearInputs, showError } from "./dom.js";
import { call } from "./rpc.js";
import { show } from "./screens.js";
import { update } from "./state.js";

/** Removes the new seed's words (shown once) from the page. */
export function forgetShownWords() {
  $("seed-words").replaceChildren();
  $("seed-birthday").textContent = "";
  clearInputs("words-written");
}

export function clearConfirmFields() {
  $("confirm-fields").replaceChildren();
  showError("confirm-error", "");
}

export function clearImportForm() {
  clearInputs("import-words", "import-aezeed-pass", "import-xprv");
  $("import-word-count").textContent = "0 / 24";
  $("import-word-count").classList.remove("done");
}

/** Drops the created seed: from the page and from the worker. */
export async function abandonNewSeed() {
  forgetShownWords();
  clearConfirmFields();
  update({ sealSource: null });
  await call("discardSeed");
}

export function bindBackButtons() {
  for (const b of document.querySelectorAll("[data-back]")) {
    if (!(b instanceof HTMLElement)) continue;
    b.addEventListener("click", () => {
      // Leaving a form forgets what was typed into it (seed words, keys).
      const section = b.closest("section");
      if (section) {
        for (const i of section.querySelectorAll("input:not([type=radio]):not([type=checkbox]), textarea")) {
          /** @type {HTMLInputElement} */ (i).value = "";
        }
      }
      if (b.closest("#screen-import")) clearImportForm();
      update({ sealSource: null });
      show(b.dataset.back || "welcome");
    });
  }
}
