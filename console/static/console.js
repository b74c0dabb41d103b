// The wsus console's only script. Every page works without it; it adds:
// - data-refresh="URL" data-interval="ms": the element's content is
//   reloaded from URL (an HTML fragment) every interval, while the page is
//   visible (the live progress of a synchronization);
// - data-select-all="NAME": a checkbox that checks every checkbox named
//   NAME in its form (bulk actions);
// - data-confirm="TEXT" on a form: asks before submitting.
"use strict";
(function () {
  function refresh(el) {
    var url = el.getAttribute("data-refresh");
    var every = parseInt(el.getAttribute("data-interval") || "2000", 10);
    function tick() {
      if (document.hidden) { setTimeout(tick, every); return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          // A redirected answer is the sign-in page: the session ended.
          // Reload, so the whole page goes there and says why.
          if (r.redirected) { window.location.reload(); throw new Error("session ended"); }
          if (!r.ok) { throw new Error(r.status); }
          return r.text();
        })
        .then(function (html) { el.innerHTML = html; setTimeout(tick, every); })
        .catch(function () { setTimeout(tick, every * 3); });
    }
    setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    document.querySelectorAll("input[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        var name = box.getAttribute("data-select-all");
        box.form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (b) { b.checked = box.checked; });
      });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
  });
})();
