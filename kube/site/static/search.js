// Search as you type over search-index.js, ranked the way `kube search` ranks (kube/index.py):
// the exact name first, then names containing the text, then kubes whose description, keywords or
// details contain it; case-insensitive substring matching, in name order within each group.
// No eval, no innerHTML: results are built as DOM nodes, so formula text is never markup.
(function () {
  "use strict";
  var LIMIT = 100;
  var STATUS_TEXT = { passed: "passed", failed: "failed", "not-run": "not run", untested: "not tested" };

  function rank(rows, pattern, status) {
    var needle = pattern.toLowerCase();
    var exact = [], byName = [], byText = [];
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      if (status && row[5] !== status) continue;
      var name = row[0];
      if (name === needle) { exact.push(row); continue; }
      if (name.toLowerCase().indexOf(needle) !== -1) { byName.push(row); continue; }
      if (row[2].toLowerCase().indexOf(needle) !== -1 || row[4].toLowerCase().indexOf(needle) !== -1) {
        byText.push(row); continue;
      }
      var keywords = row[3];
      for (var k = 0; k < keywords.length; k++) {
        if (keywords[k].toLowerCase().indexOf(needle) !== -1) { byText.push(row); break; }
      }
    }
    return exact.concat(byName, byText);
  }

  // Control characters, bidi overrides and other invisible characters shown as escapes, the set
  // kube/site/text.py escapes on the pages (search still matches the text as written, like
  // kube search).
  var CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff\ufff9-\ufffb\u{e0000}-\u{e007f}]/gu;
  function hex(code, width) { return ("0000000" + code.toString(16)).slice(-width); }
  function clean(text) {
    return text.replace(CONTROL, function (c) {
      var code = c.codePointAt(0);
      return code < 0x100 ? "\\x" + hex(code, 2) : code < 0x10000 ? "\\u" + hex(code, 4) : "\\U" + hex(code, 8);
    }).replace(/[\r\n]/g, " ");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(box, found, pattern, base) {
    while (box.firstChild) box.removeChild(box.firstChild);
    var count = el("p", "count",
      found.length === 0 ? "No kube matches \u201c" + clean(pattern) + "\u201d." :
      found.length === 1 ? "1 kube matches." : found.length + " kubes match.");
    box.appendChild(count);
    var list = el("ol", "result-list");
    for (var i = 0; i < found.length && i < LIMIT; i++) {
      var row = found[i];
      var item = el("li", "result");
      var link = el("a", "result-name", row[0]);
      link.href = base + "kube/" + row[0] + ".html";
      item.appendChild(link);
      item.appendChild(el("span", "version", clean(row[1]) || "invalid"));
      item.appendChild(el("span", "badge status-" + row[5], STATUS_TEXT[row[5]] || row[5]));
      item.appendChild(el("p", "description", clean(row[2])));
      list.appendChild(item);
    }
    box.appendChild(list);
    if (found.length > LIMIT) box.appendChild(el("p", "more", "and " + (found.length - LIMIT) + " more: refine the search."));
    box.hidden = false;
  }

  // The index (search-index.js, megabytes for a big archive) is loaded only when search is used:
  // on the first focus or keystroke, or at once when the address asks for a search (?q=).
  // A script element, not fetch(): pages opened from file:// may not fetch files.
  // Where the site's root is, from this page's stylesheet link (pages live at two depths).
  function siteBase() {
    return document.querySelector("link[rel=stylesheet]").getAttribute("href").replace(/static\/site\.css$/, "");
  }

  function loadIndex(base, done) {
    if (window.KUBE_SEARCH_INDEX) { done(); return; }
    var script = document.getElementById("search-index");
    if (!script) {
      script = document.createElement("script");
      script.id = "search-index";
      script.src = base + "search-index.js";
      document.head.appendChild(script);
    }
    script.addEventListener("load", done);
  }

  // Runs as soon as the search form is parsed (this script follows it), so a search the address
  // asks for (?q=) is shown while the rest of a long catalogue is still arriving. The catalogue is
  // hidden through a class on <html>, which also covers the part not parsed yet.
  function setUp() {
    var input = document.getElementById("q");
    var box = document.getElementById("results");
    if (!input || !box) return;
    var select = document.getElementById("status");
    var root = document.documentElement;
    var base = siteBase();
    var waiting = false;

    function update() {
      var data = window.KUBE_SEARCH_INDEX;
      var pattern = input.value.trim();
      var status = select ? select.value : "";
      if (!pattern && !status) {
        box.hidden = true;
        root.classList.remove("searching");
        return;
      }
      if (!data) {
        if (!waiting) { waiting = true; loadIndex(base, update); }
        return;
      }
      render(box, rank(data.kubes, pattern, status), pattern, base);
      root.classList.add("searching");
    }

    var params = new URLSearchParams(window.location.search);
    if (params.get("q")) input.value = params.get("q");
    if (select && params.get("status")) select.value = params.get("status");
    input.addEventListener("focus", function () { loadIndex(base, function () {}); });
    input.addEventListener("input", update);
    if (select) { select.hidden = false; select.addEventListener("change", update); }
    input.form.addEventListener("submit", function (event) {
      // On the catalogue (it has the filter) search in place; elsewhere an empty search opens it.
      if (select || input.value.trim()) { event.preventDefault(); update(); }
    });
    update();
  }

  function setUpCopy() {
    var buttons = document.querySelectorAll("button.copy");
    for (var i = 0; i < buttons.length; i++) {
      var button = buttons[i];
      if (!navigator.clipboard) continue;
      button.hidden = false;
      button.addEventListener("click", function (event) {
        var target = document.getElementById(event.currentTarget.getAttribute("data-copy"));
        var self = event.currentTarget;
        navigator.clipboard.writeText(target.textContent).then(function () { self.textContent = "Copied"; });
      });
    }
  }

  window.kubeSearch = { rank: rank, clean: clean };
  setUp();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpCopy);
  } else { setUpCopy(); }
})();
