// Import batch page: poll the batch's progress every second while it is being checked or
// committed, move the bar, and reload the page when the work is done. No inline scripts (CSP).
(function () {
  "use strict";

  function start() {
    var box = document.querySelector("[data-import-progress]");
    if (!box || !window.fetch) { return; }
    var url = box.getAttribute("data-import-progress");
    var bar = box.querySelector(".progress-bar");
    var label = document.querySelector("[data-import-progress-label]");
    var failures = 0;

    function show(value) {
      var pct = Math.max(0, Math.min(100, parseInt(value, 10) || 0));
      if (bar) { bar.style.width = pct + "%"; }
      box.setAttribute("aria-valuenow", String(pct));
      if (label) { label.textContent = pct + "%"; }
    }

    function poll() {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
        .then(function (resp) {
          if (resp.redirected) { window.location.reload(); return null; } // signed out meanwhile
          if (!resp.ok) { throw new Error("HTTP " + resp.status); }
          return resp.json();
        })
        .then(function (data) {
          if (!data) { return; }
          failures = 0;
          show(data.progress);
          if (data.done) { window.location.reload(); } else { window.setTimeout(poll, 1000); }
        })
        .catch(function () {
          failures += 1; // back off, give up after a while (the page has a refresh link)
          if (failures < 30) { window.setTimeout(poll, Math.min(10000, 1000 * failures)); }
        });
    }

    show(box.getAttribute("aria-valuenow"));
    window.setTimeout(poll, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
