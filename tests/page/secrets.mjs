// Looks for secrets in every place the page could leak them: the DOM (HTML,
// text, form values), localStorage, sessionStorage, IndexedDB (as text and
// as latin1 bytes) and the console output collected by helpers.launch.

import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { WEB } from "../stack/index.mjs";

/** Everything readable from the page, as strings. */
export async function surfaces(page) {
  return page.evaluate(async () => {
    const values = [...document.querySelectorAll("input, textarea, select")].map((e) => e.value).join("\n");
    const dom = `${document.documentElement.outerHTML}\n${document.body.innerText}\n${values}`;
    const ls = JSON.stringify({ ...localStorage });
    const ss = JSON.stringify({ ...sessionStorage });
    const toText = (v) => {
      if (v instanceof Uint8Array || v instanceof ArrayBuffer) {
        const b = v instanceof Uint8Array ? v : new Uint8Array(v);
        let latin1 = "";
        for (const x of b) latin1 += String.fromCharCode(x);
        return latin1;
      }
      if (v && typeof v === "object") return Object.entries(v).map(([k, x]) => `${k}=${toText(x)}`).join("\n");
      return String(v);
    };
    const dbs = (await indexedDB.databases()).map((d) => d.name);
    let idb = "";
    for (const name of dbs) {
      const db = await new Promise((ok, fail) => {
        const r = indexedDB.open(name);
        r.onsuccess = () => ok(r.result);
        r.onerror = () => fail(r.error);
      });
      for (const storeName of db.objectStoreNames) {
        const rows = await new Promise((ok, fail) => {
          const tx = db.transaction(storeName, "readonly");
          const r = tx.objectStore(storeName).getAll();
          r.onsuccess = () => ok(r.result);
          r.onerror = () => fail(r.error);
        });
        idb += rows.map(toText).join("\n");
      }
      db.close();
    }
    return { dom, localStorage: ls, sessionStorage: ss, indexedDB: idb, idbNames: dbs };
  });
}

let uiWords = null;
/** Words that occur in the page's own source (UI text); mnemonic words among them prove nothing. */
async function sourceWords() {
  if (!uiWords) {
    // Every file the page is built from, web/lib/ included (its modules set
    // attributes such as aria-busy): strength.js's common-word list, for one,
    // is text the strength hint may show. Not pkg/ (generated glue the page
    // never shows).
    const files = (await readdir(WEB, { recursive: true }))
      .filter((f) => /\.(html|js)$/.test(f) && !f.startsWith("pkg"));
    const text = (await Promise.all(files.map((f) => readFile(join(WEB, f), "utf8")))).join("\n");
    uiWords = new Set(text.toLowerCase().match(/[a-z]+/g));
  }
  return uiWords;
}

/**
 * Asserts that neither the mnemonic (as any two consecutive words, or any
 * word the UI itself never shows) nor any of `secrets` appears anywhere.
 */
export async function assertNoSecrets(page, consoleLogs, { words = [], secrets = [] }) {
  const s = await surfaces(page);
  const places = {
    DOM: s.dom.toLowerCase(),
    localStorage: s.localStorage.toLowerCase(),
    sessionStorage: s.sessionStorage.toLowerCase(),
    IndexedDB: s.indexedDB.toLowerCase(),
    console: consoleLogs.map((l) => l.text).join("\n").toLowerCase(),
  };
  // Chromium's own advice lines ("[DOM] Input elements should have autocomplete
  // attributes … (More info: https://goo.gl/…)") are fixed browser text: a
  // mnemonic word in them ("more") is no leak. They still go through the
  // secret and consecutive-word checks above.
  const ownConsole = consoleLogs.filter((l) => !l.text.startsWith("[DOM] "));
  const ui = await sourceWords();
  for (const [place, text] of Object.entries(places)) {
    for (const secret of secrets) {
      if (!secret) continue;
      assert.ok(!text.includes(secret.toLowerCase()), `a secret (${secret.slice(0, 4)}…) appears in ${place}`);
    }
    for (let i = 0; i + 1 < words.length; i++) {
      const pair = `${words[i]} ${words[i + 1]}`;
      assert.ok(!text.includes(pair), `seed words #${i + 1}-#${i + 2} appear in ${place}`);
    }
    const single = place === "console" ? ownConsole.map((l) => l.text).join("\n").toLowerCase() : text;
    const tokens = new Set(single.match(/[a-z]+/g) || []);
    const leaked = words.filter((w) => tokens.has(w) && !ui.has(w));
    const where = place === "console"
      ? `: ${ownConsole.filter((l) => leaked.some((w) => l.text.toLowerCase().includes(w))).map((l) => l.text).join(" | ")}`
      : "";
    assert.deepEqual(leaked, [], `seed words found in ${place}${where}`);
  }
  return s;
}
