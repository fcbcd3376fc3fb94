// 「立即重算」 progress (templates/assessments/reports/dashboard.html): poll the run's progress
// every second while it is waiting or running, move the bar, and reload the page when the run
// is complete (the page then reads the new version). No inline scripts (CSP).
(function () {
  "use strict";

  function start() {
    var box = document.querySelector("[data-report-progress]");
    if (!box || !window.fetch) { return; }
    var panel = document.querySelector("[data-testid=run-progress]");
    var url = box.getAttribute("data-report-progress");
    var bar = box.querySelector(".progress-bar");
    var label = document.querySelector("[data-progress-label]");
    var status = document.querySelector("[data-progress-status]");
    var slices = document.querySelector("[data-progress-slices]");
    var error = document.querySelector("[data-progress-error]");
    var failures = 0;

    function show(value) {
      var pct = Math.max(0, Math.min(100, parseInt(value, 10) || 0));
      if (bar) { bar.style.width = pct + "%"; }
      box.setAttribute("aria-valuenow", String(pct));
      if (label) { label.textContent = pct + "%"; }
    }

    function finished(data) {
      if (panel) { panel.setAttribute("data-status", data.status); }
      if (bar) { bar.classList.remove("progress-bar-striped", "progress-bar-animated"); }
      if (data.status === "failed") {
        if (bar) { bar.classList.add("bg-danger"); }
        if (error) { error.textContent = data.error || "计算失败"; error.classList.remove("d-none"); }
        return;
      }
      if (bar) { bar.classList.add("bg-success"); }
      if (status) { status.textContent = "已完成，正在刷新…"; }
      window.setTimeout(function () { window.location.reload(); }, 600);
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
          if (status) { status.textContent = data.status_label; }
          if (slices) { slices.textContent = data.slices_done + "/" + data.slices_total; }
          if (data.done) { finished(data); } else { window.setTimeout(poll, 1000); }
        })
        .catch(function () {
          failures += 1; // back off, give up after a while (reloading the page starts again)
          if (failures < 30) { window.setTimeout(poll, Math.min(10000, 1000 * failures)); }
        });
    }

    show(box.getAttribute("aria-valuenow"));
    var initial = panel ? panel.getAttribute("data-status") : "";
    if (initial === "pending" || initial === "running") { window.setTimeout(poll, 1000); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
