// @ts-check
// A read-only listener of the signer's events (for scripts/headless-extension.sh
// once the popup is closed): every status change and answered request the
// offscreen document broadcasts, as the console lines the tab writes
// ("[status] …", "[activity] #ID KIND … Nms"). It holds nothing and starts
// nothing: without an offscreen document it simply hears nothing.

import { activityLogLine, statusLogLine } from "./lib/format.js";
import { CHANNEL } from "./relay.js";

const channel = new BroadcastChannel(CHANNEL);
channel.onmessage = (ev) => {
  const d = ev.data;
  if (!d || d.to !== "*") return;
  if (typeof d.locked === "string") console.info(`[signer] locked ${d.locked}`);
  const m = d.message;
  if (m?.event === "activity" && m.entry.kind !== "ping") console.info(activityLogLine(m.entry));
  else if (m?.event === "status") {
    const line = statusLogLine(m.status);
    if (line) console.info(line);
  }
};
