/* Behaviour shared by the screens, served by the app (the CSP allows no inline script):
   - a confirmation dialog (native <dialog>) before irreversible actions: a form or its submit
     button carries data-confirm="message"; "{alerts}" is replaced by the selected alert numbers;
   - "select all" checkboxes: data-select-all="field name" ticks every box of that name in its table.
   Without JavaScript the forms still work; they just do not ask. */
(function () {
  "use strict";

  function selectedNumbers(form) {
    var boxes = form.querySelectorAll("input[name=alert_ids]:checked");
    return Array.prototype.map.call(boxes, function (b) { return "#" + b.value; })
      .join(document.documentElement.lang.indexOf("zh") === 0 ? "、" : ", ");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter || null;
    var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    var dialog = document.getElementById("confirm-dialog");
    if (!message || !dialog || typeof dialog.showModal !== "function") { return; }
    if (form.getAttribute("data-confirmed") === "1") { form.removeAttribute("data-confirmed"); return; }
    event.preventDefault();
    dialog.querySelector("[data-confirm-message]").textContent = message.replace("{alerts}", selectedNumbers(form));
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue !== "ok") { return; }
      form.setAttribute("data-confirmed", "1");
      if (typeof form.requestSubmit === "function") { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    };
    dialog.showModal();
  }, true);

  document.addEventListener("change", function (event) {  // capture: before htmx reads the selection
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-select-all");
    var table = box.closest && box.closest("table");
    if (!table) { return; }
    if (name) {
      table.querySelectorAll("input[type=checkbox][name='" + name + "']").forEach(function (b) { b.checked = box.checked; });
      return;
    }
    var all = table.querySelector("input[data-select-all='" + box.name + "']");
    if (all) {
      var boxes = table.querySelectorAll("input[type=checkbox][name='" + box.name + "']");
      var ticked = table.querySelectorAll("input[type=checkbox][name='" + box.name + "']:checked");
      all.checked = boxes.length > 0 && ticked.length === boxes.length;
      all.indeterminate = ticked.length > 0 && ticked.length < boxes.length;
    }
  }, true);
}());
