// @ts-check
// First run: the welcome choices and a new seed (create → words shown once
// → three words typed back, checked in the worker → seal).

import { $, busy, button, el, input, nextFrame, select, showError, clearInputs } from "./dom.js";
import { errorMessage } from "./errors.js";
import { formatDate, wrongWordsText } from "./format.js";
import { pickPositions } from "./parse.js";
import { call } from "./rpc.js";
import { show } from "./screens.js";
import { abandonNewSeed, clearConfirmFields, forgetShownWords } from "./seed-forms.js";
import { state, update } from "./state.js";
import { openSeal } from "./view-seal.js";

export function bindCreate() {
  $("choose-create").addEventListener("click", () => {
    showError("create-error", "");
    show("create", "create-network");
  });
  $("choose-import").addEventListener("click", () => {
    showError("import-error", "");
    show("import", "import-network");
  });
  $("choose-restore").addEventListener("click", () => {
    showError("restore-error", "");
    show("restore", "restore-file");
  });

  $("create-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const btn = button("create-btn");
    busy(btn, true);
    btn.textContent = "Generating…";
    showError("create-error", "");
    try {
      await nextFrame();
      const network = select("create-network").value;
      /** @type {{ words: string[], birthday: number }} */
      const seed = await call("createSeed", { network, aezeedPassphrase: input("create-aezeed-pass").value });
      clearInputs("create-aezeed-pass");
      update({ sealSource: { source: "pending", network } });
      $("seed-words").replaceChildren(...seed.words.map((w) => el("li", { text: w })));
      $("seed-birthday").textContent = `Network ${network} · wallet birthday ${formatDate(seed.birthday)}`;
      input("words-written").checked = false;
      button("words-continue").disabled = true;
      show("words");
    } catch (e) {
      showError("create-error", errorMessage(e));
    } finally {
      busy(btn, false);
      btn.textContent = "Generate seed";
    }
  });

  $("words-written").addEventListener("change", () => {
    button("words-continue").disabled = !input("words-written").checked;
  });

  $("words-cancel").addEventListener("click", async () => {
    await abandonNewSeed();
    show("welcome");
  });

  $("words-continue").addEventListener("click", () => {
    // The words are shown once: they leave the page before the confirmation.
    forgetShownWords();
    const positions = pickPositions(3, 24);
    update({ confirmPositions: positions });
    const fields = positions.map((p) =>
      el("label", { class: "field" },
        el("span", { class: "label", text: `Word #${p}` }),
        el("input", { type: "text", id: `confirm-word-${p}`, autocomplete: "off", autocapitalize: "off", spellcheck: "false", "data-position": String(p) })));
    $("confirm-fields").replaceChildren(...fields);
    showError("confirm-error", "");
    show("confirm", `confirm-word-${state.confirmPositions[0]}`);
  });

  $("confirm-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const inputs = /** @type {HTMLInputElement[]} */ ([...$("confirm-fields").querySelectorAll("input")]);
    const answers = inputs.map((i) => ({ position: Number(i.dataset.position), word: i.value }));
    if (answers.some((a) => !a.word.trim())) {
      showError("confirm-error", "Type all the requested words.");
      return;
    }
    try {
      /** @type {{ wrong: number[] }} */
      const { wrong } = await call("checkWords", { answers });
      for (const i of inputs) i.setAttribute("aria-invalid", wrong.includes(Number(i.dataset.position)) ? "true" : "false");
      if (wrong.length) {
        showError("confirm-error", wrongWordsText(wrong));
        return;
      }
      clearConfirmFields();
      openSeal("New seed · step 4 of 4");
    } catch (e) {
      showError("confirm-error", errorMessage(e));
    }
  });

  $("confirm-restart").addEventListener("click", async () => {
    await abandonNewSeed();
    show("create", "create-network");
  });
}
