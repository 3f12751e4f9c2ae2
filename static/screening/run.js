// Run progress: poll the run's API resource until it has succeeded or failed, then reload
// once so the hits table shows. No inline script (CSP).
(function () {
  "use strict";
  var box = document.getElementById("run");
  if (!box) return;
  var labelsEl = document.getElementById("run-status-labels");
  var labels = labelsEl ? JSON.parse(labelsEl.textContent) : {};
  var done = function (s) { return s === "succeeded" || s === "failed"; };
  if (done(box.dataset.status)) return;
  function tick() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (run) {
        document.getElementById("run-progress").value = run.progress;
        document.getElementById("run-status").textContent = labels[run.status] || "";
        document.getElementById("run-hits").textContent = run.hit_count;
        document.getElementById("run-alerts").textContent = run.alerts_created;
        if (run.error) {
          var e = document.getElementById("run-error");
          e.textContent = run.error; e.hidden = false;
        }
        if (done(run.status)) { window.location.reload(); } else { setTimeout(tick, 1000); }
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 500);
})();
