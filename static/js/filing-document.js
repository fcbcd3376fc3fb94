// The 打印 button of the printable filing documents (no inline scripts: CSP script-src 'self').
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (el) {
    el.addEventListener("click", function () { window.print(); });
  });
});
