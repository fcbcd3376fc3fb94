// The subsidy application form: show only the chosen rule's fields (no inline scripts: CSP).
// Without JavaScript every field shows, each labelled; the services ignore the other rules' ones.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("application-form");
  if (!form) { return; }
  function update() {
    var chosen = form.querySelector("input[data-rule-radio]:checked");
    var value = chosen ? chosen.value : "";
    form.querySelectorAll("[data-rules]").forEach(function (el) {
      var show = !value || el.getAttribute("data-rules").split(" ").indexOf(value) >= 0;
      el.hidden = !show;
    });
    form.querySelectorAll("[data-rule]").forEach(function (el) {
      el.classList.toggle("border-primary", el.getAttribute("data-rule") === value);
    });
  }
  form.querySelectorAll("input[data-rule-radio]").forEach(function (el) {
    el.addEventListener("change", update);
  });
  update();
});
