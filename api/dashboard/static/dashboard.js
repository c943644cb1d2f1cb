// Merchant dashboard: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Heatmap overlay: per-photo toggle and opacity, and one switch for all photos.
  document.querySelectorAll(".photo").forEach(function (figure) {
    var overlay = figure.querySelector("img.heatmap");
    var toggle = figure.querySelector(".heatmap-toggle");
    var opacity = figure.querySelector(".heatmap-opacity");
    if (!overlay || !toggle) return;
    var apply = function () {
      overlay.hidden = !toggle.checked;
      if (opacity) overlay.style.opacity = String(opacity.value / 100);
    };
    toggle.addEventListener("change", apply);
    if (opacity) opacity.addEventListener("input", apply);
    apply();
  });
  var all = document.getElementById("heatmaps-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll(".heatmap-toggle").forEach(function (box) {
        box.checked = all.checked;
        box.dispatchEvent(new Event("change"));
      });
    });
  }

  // Verdict form: severity and damage type only make sense for "damaged".
  document.querySelectorAll("form.verdict").forEach(function (form) {
    var details = form.querySelector(".details");
    var sync = function () {
      var picked = form.querySelector("input[name=label]:checked");
      if (details) details.hidden = !(picked && picked.value === "damaged");
    };
    form.querySelectorAll("input[name=label]").forEach(function (r) { r.addEventListener("change", sync); });
    sync();
  });

  // Review actions: reject and "more photos" need a note for the shopper.
  document.querySelectorAll("form.decide").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      var note = form.querySelector("textarea[name=note]");
      if (button && button.dataset.needsNote && note && !note.value.trim()) {
        event.preventDefault();
        note.setCustomValidity("Write a note for the shopper first.");
        note.reportValidity();
        note.addEventListener("input", function () { note.setCustomValidity(""); }, { once: true });
        return;
      }
      if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });

  // Queue: select all rows for bulk approve.
  var selectAll = document.getElementById("select-all");
  if (selectAll) {
    var boxes = document.querySelectorAll("input[name=rma]");
    var counter = document.getElementById("selected-count");
    var count = function () {
      var n = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      if (counter) counter.textContent = String(n);
    };
    selectAll.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = selectAll.checked; });
      count();
    });
    boxes.forEach(function (b) { b.addEventListener("change", count); });
    count();
  }
})();
