// 乡镇年报: the select-all box of the bulk accept (no inline scripts: CSP script-src 'self').
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-select-all]").forEach(function (all) {
    var name = all.getAttribute("data-select-all");
    var boxes = function () {
      return all.form ? all.form.querySelectorAll('input[type="checkbox"][name="' + name + '"]') : [];
    };
    all.addEventListener("change", function () {
      boxes().forEach(function (box) { if (!box.disabled) { box.checked = all.checked; } });
    });
    boxes().forEach(function (box) {
      box.addEventListener("change", function () {
        var list = Array.prototype.slice.call(boxes());
        all.checked = list.length > 0 && list.every(function (b) { return b.checked; });
      });
    });
  });
});
