// Runs report.html's scripts in node against a stub DOM (no browser here): every chart, pane,
// legend entry and table is drawn without an exception. Prints <html data-rendered>.
"use strict";
const fs = require("fs");
const html = fs.readFileSync(process.argv[2], "utf8");
const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
const elements = {};
const ctx = new Proxy({}, { get: (t, k) => k === "getImageData" ? () => ({ data: new Uint8Array(64).fill(255) })
  : k in t ? t[k] : () => {}, set: (t, k, v) => { t[k] = v; return true; } });
function element(id) {
  const el = { id, dataset: {}, style: {}, innerHTML: "", textContent: "", clientWidth: 1200, width: 0, height: 0,
    offsetWidth: 200, offsetHeight: 100, children: [], classList: { add() {} },
    getContext: () => ctx, addEventListener() {}, dispatchEvent() {}, scrollIntoView() {},
    getBoundingClientRect: () => ({ left: 0, top: 0, width: 1200, height: 800 }),
    before(other) { elements[other.id] = other; }, append(...items) { items.forEach((i) => { if (i.id) elements[i.id] = i; }); },
    querySelectorAll: () => [] };
  if (id === "price") el.dataset.height = "0.58";
  if (id === "equity") el.dataset.height = "0.25";
  if (id === "drawdown") el.dataset.height = "0.17";
  return el;
}
global.document = {
  getElementById: (id) => elements[id] || (elements[id] = element(id)),
  createElement: () => element(""), querySelectorAll: (q) => q === "#legend .item"
    ? (elements.legend.innerHTML.match(/class='item'/g) || []) : [],
  documentElement: { dataset: {} },
};
global.window = { devicePixelRatio: 1, innerHeight: 900, addEventListener() {} };
global.location = { hash: "" };
global.MouseEvent = function () {};
(0, eval)(scripts.join("\n"));  // one program, as the page's scripts share one global scope
console.log(document.documentElement.dataset.rendered);
console.log(JSON.stringify({ legend: elements.legend.innerHTML.length, trades: elements["trades-table"].innerHTML,
  summary: elements["summary-table"].innerHTML, periods: Object.keys(elements).filter((k) => k.endsWith("-table")) }));
