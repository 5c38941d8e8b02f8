// Progressive enhancement of the time control: without JavaScript the date field,
// its button and the previous/next event links do everything; with it, a slider
// from signing to today moves the date and reloads the page when released.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  function addDays(iso, days) {
    var parts = iso.split("-").map(Number);
    var d = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2] + days));
    return d.toISOString().slice(0, 10);
  }
  ready(function () {
    var box = document.querySelector(".time .slide");
    if (!box) { return; }
    var form = box.closest("form");
    var slider = box.querySelector("input[type=range]");
    var out = box.querySelector("output");
    var date = form.querySelector("input[type=date]");
    var min = box.getAttribute("data-min");
    if (!slider || !date || !min) { return; }
    box.hidden = false;
    slider.addEventListener("input", function () {
      var value = addDays(min, Number(slider.value));
      out.textContent = value;
      date.value = value;
    });
    slider.addEventListener("change", function () { form.submit(); });
  });
})();
