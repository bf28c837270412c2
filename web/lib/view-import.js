// @ts-check
// First run: import a seed (24 aezeed words or an xprv/tprv) and restore a
// vault file (checked with vaultInfo in the worker before it is stored).

import * as store from "../store.js";
import { $, busy, button, clearInputs, input, select, showError, toast } from "./dom.js";
import { errorMessage } from "./errors.js";
import { wordsOf } from "./parse.js";
import { call } from "./rpc.js";
import { update } from "./state.js";
import { openSeal } from "./view-seal.js";
import { openUnlock } from "./view-unlock.js";

function importKind() {
  const checked = document.querySelector('input[name="import-kind"]:checked');
  return checked instanceof HTMLInputElement ? checked.value : "aezeed";
}

export function bindImport() {
  for (const r of document.querySelectorAll('input[name="import-kind"]')) {
    r.addEventListener("change", () => {
      const aezeed = importKind() === "aezeed";
      $("import-aezeed-fields").hidden = !aezeed;
      $("import-xprv-fields").hidden = aezeed;
      showError("import-error", "");
    });
  }

  $("import-words").addEventListener("input", () => {
    const n = wordsOf(input("import-words").value).length;
    const c = $("import-word-count");
    c.textContent = `${n} / 24`;
    c.classList.toggle("done", n === 24);
  });

  $("import-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    showError("import-error", "");
    const network = select("import-network").value;
    if (importKind() === "aezeed") {
      const words = wordsOf(input("import-words").value);
      if (words.length !== 24) {
        showError("import-error", `An aezeed has 24 words; ${words.length} given.`);
        return;
      }
      update({ sealSource: { source: "aezeed", network, words, aezeedPassphrase: input("import-aezeed-pass").value } });
    } else {
      const xprv = input("import-xprv").value.trim();
      if (!xprv) {
        showError("import-error", "Paste the extended private key.");
        return;
      }
      update({ sealSource: { source: "xprv", network, xprv } });
    }
    openSeal("Import · step 2 of 2");
  });

  $("restore-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("restore-error", "");
    const file = input("restore-file").files?.[0];
    if (!file) {
      showError("restore-error", "Choose a vault file.");
      return;
    }
    const btn = button("restore-btn");
    busy(btn, true);
    try {
      const blob = new Uint8Array(await file.arrayBuffer());
      await call("vaultInfo", { blob });
      await store.saveVault(blob, { restoredFrom: file.name });
      update({ vault: await store.loadVault() });
      clearInputs("restore-file");
      toast("Vault restored. Unlock it with its passphrase.");
      openUnlock();
    } catch (e) {
      showError("restore-error", `This is not a usable vault file: ${errorMessage(e)}`);
    } finally {
      busy(btn, false);
    }
  });
}
