// @ts-check
// Sealing a seed into a vault: vault passphrase (≥ 8 characters, strength
// hint, typed twice) → seal in the worker → IndexedDB → unlock.

import * as store from "../store.js";
import { passphraseStrength } from "../strength.js";
import { $, busy, button, clearInputs, input, nextFrame, showError, toast } from "./dom.js";
import { errorMessage } from "./errors.js";
import { call } from "./rpc.js";
import { selectTab, show } from "./screens.js";
import { abandonNewSeed, clearImportForm, forgetShownWords } from "./seed-forms.js";
import { state, update } from "./state.js";
import { unlockWith } from "./view-unlock.js";

/** Opens the seal screen for state.sealSource. @param {string} stepText */
export function openSeal(stepText) {
  $("seal-step").textContent = stepText;
  clearInputs("seal-pass", "seal-pass2");
  updateStrength();
  showError("seal-error", "");
  show("seal", "seal-pass");
}

function updateStrength() {
  const p = input("seal-pass").value;
  const s = passphraseStrength(p);
  $("seal-strength-bar").dataset.score = p ? String(Math.max(1, s.score)) : "0";
  $("seal-strength-text").textContent = p ? `${s.label}. ${s.hint}` : "At least 8 characters. Several unrelated words make a strong passphrase.";
}

function progressText() {
  const span = $("seal-progress").querySelector("span");
  if (!span) throw new Error("the page has no #seal-progress span");
  return span;
}

export function bindSeal() {
  $("seal-pass").addEventListener("input", updateStrength);

  $("seal-cancel").addEventListener("click", async () => {
    const pending = state.sealSource?.source === "pending";
    update({ sealSource: null });
    clearInputs("seal-pass", "seal-pass2");
    clearImportForm();
    if (pending) await abandonNewSeed();
    show("welcome");
  });

  $("seal-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("seal-error", "");
    const pass = input("seal-pass").value;
    if (pass.length < 8) {
      showError("seal-error", "The vault passphrase needs at least 8 characters.");
      $("seal-pass").focus();
      return;
    }
    if (pass !== input("seal-pass2").value) {
      showError("seal-error", "The two passphrases differ.");
      $("seal-pass2").focus();
      return;
    }
    if (!state.sealSource) {
      showError("seal-error", "Nothing to seal: start over.");
      return;
    }
    const network = state.sealSource.network;
    const btn = button("seal-btn");
    busy(btn, true);
    $("seal-progress").hidden = false;
    try {
      await nextFrame();
      /** @type {Uint8Array} */
      const blob = await call("seal", { ...state.sealSource, vaultPassphrase: pass });
      await store.saveVault(blob, { network });
      // The seed is sealed: drop every copy the page had.
      update({ sealSource: null });
      clearInputs("seal-pass", "seal-pass2");
      clearImportForm();
      forgetShownWords();
      update({ vault: await store.loadVault() });
      progressText().textContent = "Unlocking…";
      await unlockWith(pass);
      selectTab("setup");
      toast("Vault sealed and stored in this browser.");
    } catch (e) {
      showError("seal-error", errorMessage(e));
    } finally {
      busy(btn, false);
      $("seal-progress").hidden = true;
      progressText().textContent = "Sealing the vault…";
    }
  });
}
